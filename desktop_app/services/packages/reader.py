"""Read a package, judge it, and stream its artifacts into a staging area.

The order matters for a hostile package: the container is judged first, then the
manifest (every problem collected), then each listed file's presence, type and size;
only when all of that is clean is anything hashed or written. Hashing then streams every
artifact into staging in one pass and collects every size or digest mismatch. Any
problem raises InputRejected; the caller discards the staging area, so nothing is kept.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from desktop_app.domain.errors import InputRejected, OperationCancelled, Problem
from desktop_app.services.packages.folder import FolderSource
from desktop_app.services.packages.manifest import (
    MANIFEST_NAME,
    ManifestRejected,
    ManifestView,
    kind_warnings,
    load_manifest,
    manifest_problems,
    problem,
    view,
)
from desktop_app.services.packages.model import (
    CancelCheck,
    ImportProgress,
    PackageArtifact,
    PackageLimits,
    ProgressListener,
    ValidatedPackage,
)
from desktop_app.services.packages.paths import collision_key
from desktop_app.services.packages.source import Entry, EntryKind, PackageReadError, PackageSource, as_binary
from desktop_app.services.packages.text import shown_name
from desktop_app.services.packages.zipsource import ZIP_MAGIC, ZipSource
from desktop_app.storage.blobstore import StagingArea

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def open_package(path: str | os.PathLike[str], *, limits: PackageLimits | None = None) -> PackageSource:
    """Open a package folder or .zip for reading; anything else is refused.

    The kind is decided by what the path is (a folder, or a file starting with the zip
    signature), never by its name. Raises InputRejected when it cannot be a package.
    """
    path = Path(path)
    limits = limits or PackageLimits()
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputRejected([Problem("no such file or folder")], subject=str(path)) from None
    except OSError as error:
        raise InputRejected([Problem(f"cannot be opened: {error.strerror}")], subject=str(path)) from None
    if stat.S_ISDIR(info.st_mode):
        return FolderSource(path, limits)
    if not stat.S_ISREG(info.st_mode):
        raise InputRejected([Problem("is neither a folder nor a file (a device, pipe or socket?)")], subject=str(path))
    return _open_zip(path, limits)


def _open_zip(path: Path, limits: PackageLimits) -> ZipSource:
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _BINARY)
    except OSError as error:
        raise InputRejected([Problem(f"cannot be opened: {error.strerror}")], subject=str(path)) from None
    handle = os.fdopen(fd, "rb")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputRejected([Problem("changed while it was being opened")], subject=str(path))
        if handle.read(4) not in ZIP_MAGIC:
            raise InputRejected(
                [Problem("is neither a package folder nor a .zip file (it does not start with the zip signature)")],
                subject=str(path),
            )
    except BaseException:
        handle.close()
        raise
    return ZipSource(path, handle, limits)


def read_and_stage(
    path: str | os.PathLike[str],
    staging: StagingArea,
    *,
    limits: PackageLimits | None = None,
    progress: ProgressListener | None = None,
    cancelled: CancelCheck | None = None,
) -> ValidatedPackage:
    """Validate the package at `path` and stage its artifacts; see the module docstring.

    Raises InputRejected (every problem found, subject = the package path) or
    OperationCancelled; in both cases the caller discards `staging`.
    """
    limits = limits or PackageLimits()
    with open_package(path, limits=limits) as source:
        return _Reading(source, staging, limits, progress, cancelled).run()


class _Reading:
    """One read of one package; holds the counters that progress reports."""

    def __init__(
        self,
        source: PackageSource,
        staging: StagingArea,
        limits: PackageLimits,
        progress: ProgressListener | None,
        cancelled: CancelCheck | None,
    ) -> None:
        self.source = source
        self.staging = staging
        self.limits = limits
        self.listener = progress
        self.cancelled = cancelled
        self.subject = str(source.path)

    def run(self) -> ValidatedPackage:
        manifest_bytes, manifest = self._judge_before_hashing()
        warnings = kind_warnings(manifest.document) + unlisted_warnings(
            self.source, manifest.artifacts, self.limits.max_warnings
        )
        self._check_cancelled()
        self._refuse_if(self._stage(manifest.artifacts))
        return ValidatedPackage(
            source_path=self.source.path,
            source_kind=self.source.kind,
            manifest=manifest.document,
            manifest_bytes=manifest_bytes,
            manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
            kind=manifest.kind,
            package_id=manifest.package_id,
            refers_to=manifest.refers_to,
            submitted_at=manifest.submitted_at,
            developer=manifest.developer,
            model=manifest.model,
            artifacts=manifest.artifacts,
            warnings=tuple(warnings),
        )

    def _judge_before_hashing(self) -> tuple[bytes, ManifestView]:
        """Container, manifest and listed files, all problems at once; nothing is read but
        the manifest and the listing."""
        problems = list(self.source.problems)
        manifest_bytes, manifest, more = self._read_manifest()
        problems += more
        if manifest is not None:
            problems += listed_file_problems(self.source, manifest.artifacts)
        elif not problems:
            problems.append(problem("could not be read"))
        self._refuse_if(problems)
        assert manifest is not None  # for the type checker: _refuse_if raised otherwise
        return manifest_bytes, manifest

    def _refuse_if(self, problems: list[Problem]) -> None:
        if not problems:
            return
        limit = self.limits.max_problems
        if len(problems) > limit:
            problems = problems[:limit] + [Problem(f"… and {len(problems) - limit:,} more problems not listed")]
        raise InputRejected(problems, subject=self.subject)

    def _check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise OperationCancelled("cancelled by the user; nothing was written")

    # --- manifest --------------------------------------------------------------------

    def _read_manifest(self) -> tuple[bytes, ManifestView | None, list[Problem]]:
        entry = self.source.entries.get(MANIFEST_NAME)
        if entry is not None and entry.kind is EntryKind.LINK:
            return b"", None, []  # already refused as a link
        if entry is None or entry.kind is not EntryKind.FILE:
            return b"", None, [_missing_manifest(self.source, entry)]
        if self.source.has_problem(MANIFEST_NAME):
            return b"", None, []  # the container problems already say what is wrong with it
        try:
            data = self.source.read_manifest(MANIFEST_NAME, self.limits.max_manifest_bytes)
            document = load_manifest(data, self.limits)
        except PackageReadError as error:
            return b"", None, [error.as_problem()]
        except ManifestRejected as rejected:
            return b"", None, rejected.problems
        found = manifest_problems(document, self.limits)
        return data, (None if found else view(document)), found

    # --- hashing ---------------------------------------------------------------------

    def _stage(self, artifacts: tuple[PackageArtifact, ...]) -> list[Problem]:
        problems: list[Problem] = []
        total = sum(artifact.bytes for artifact in artifacts)
        done = 0
        for index, artifact in enumerate(artifacts):
            self._check_cancelled()
            self._report(done, total, index, len(artifacts), artifact.path)
            problems += self._stage_one(artifact, done, total, index, len(artifacts))
            done += artifact.bytes
        self._report(done, total, len(artifacts), len(artifacts), "")
        return problems

    def _stage_one(self, artifact: PackageArtifact, base: int, total: int, index: int, files: int) -> list[Problem]:
        copied = 0

        def on_chunk(size: int) -> None:
            nonlocal copied
            copied += size
            self._report(base + min(copied, artifact.bytes), total, index, files, artifact.path)

        try:
            with self.source.open_file(artifact.path) as stream:
                staged = self.staging.write_stream(
                    as_binary(stream), progress=on_chunk, cancelled=self.cancelled, limit=artifact.bytes
                )
        except PackageReadError as error:
            return [error.as_problem()]
        name = shown_name(artifact.path)
        if staged.size != artifact.bytes:
            said = "larger than" if staged.size > artifact.bytes else f"only {staged.size:,} bytes, not"
            return [Problem(f"is {said} the {artifact.bytes:,} bytes the manifest says (it changed while being read?)", file=name)]
        if staged.sha256 != artifact.sha256:
            return [Problem(f"SHA-256 is {staged.sha256}, the manifest says {artifact.sha256}", file=name)]
        return []

    def _report(self, done: int, total: int, files_done: int, files_total: int, current: str) -> None:
        if self.listener is not None:
            self.listener(ImportProgress(done, total, files_done, files_total, current))


def _missing_manifest(source: PackageSource, entry: Entry | None) -> Problem:
    if entry is not None:
        return problem(f"is a {entry.kind.value}, not a file")
    nested = sorted(name for name in source.entries if name.endswith("/" + MANIFEST_NAME))
    hint = ""
    if nested and source.kind == "zip":
        hint = f" (found {shown_name(nested[0])}: zip the package's contents, not its folder)"
    elif nested:
        hint = f" (found {shown_name(nested[0])}: choose the folder that holds it)"
    return problem(f"is missing: a package has manifest.json at its root{hint}")


def listed_file_problems(source: PackageSource, artifacts: Iterable[PackageArtifact]) -> list[Problem]:
    """Presence, type, exact name and size of every listed file, before any is read."""
    entries = source.entries
    by_key: dict[str, list[str]] = {}
    for name, entry in entries.items():
        if entry.kind is not EntryKind.FOLDER:
            by_key.setdefault(collision_key(name), []).append(name)
    found = []
    for artifact in artifacts:
        message = _listed_file_problem(artifact, entries.get(artifact.path), by_key.get(collision_key(artifact.path), []))
        if message:
            found.append(Problem(message, file=shown_name(artifact.path)))
    return found


def _listed_file_problem(artifact: PackageArtifact, entry: Entry | None, twins: list[str]) -> str | None:
    others = [name for name in twins if name != artifact.path]
    if entry is None and others:
        return (
            f"is not in the package, which holds {shown_name(others[0])!s} instead; "
            "names must match exactly (letter case and Unicode normalisation)"
        )
    if entry is None:
        return "is listed in the manifest but not in the package"
    if others:
        return f"is ambiguous: the package also holds {shown_name(others[0])}, which differs only in case or normalisation"
    if entry.kind is EntryKind.FOLDER:
        return "is a folder, not a file"
    if entry.kind is EntryKind.LINK:
        return None  # already refused as a link, with the same name
    if entry.kind is EntryKind.SPECIAL:
        return "is a device, pipe or socket, not a regular file"
    if entry.size != artifact.bytes:
        return f"size is {entry.size:,} bytes, the manifest says {artifact.bytes:,}"
    return None


def unlisted_warnings(source: PackageSource, artifacts: Iterable[PackageArtifact], limit: int) -> list[Problem]:
    listed = {artifact.path for artifact in artifacts} | {MANIFEST_NAME}
    names = sorted(
        name for name, entry in source.entries.items() if entry.kind is not EntryKind.FOLDER and name not in listed
    )
    warnings = [Problem("is not listed in the manifest; it was not stored", file=shown_name(name)) for name in names[:limit]]
    if len(names) > limit:
        warnings.append(Problem(f"… and {len(names) - limit:,} more unlisted files, not stored"))
    return warnings
