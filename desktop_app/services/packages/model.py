"""What reading a package produces, and the limits it is read under.

Plain frozen dataclasses, so the intake service can hand them to a worker thread, the
database layer and the UI without any of them seeing a file handle or a zip object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from desktop_app.domain.errors import Problem
from desktop_app.domain.types import ArtifactKind, PackageKind

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class PackageLimits:
    """Bounds on what a package may make the reader do; all are settings, not constants.

    The defaults are the contract's (submission-format.md); tests pass small ones so they
    can exercise a limit without building giant files.
    """

    max_manifest_bytes: int = 1 * MiB
    max_json_depth: int = 32
    """The schema needs 4 levels; anything far deeper is an attack on the parser."""
    max_members: int = 10_000
    """Zip members, or entries (files and folders) below a package folder."""
    max_total_bytes: int = 64 * GiB
    """Sum of the uncompressed sizes a zip's headers declare."""
    max_ratio: float = 200.0
    ratio_applies_above: int = 1 * MiB
    """Compression ratio is only checked on members larger than this (uncompressed)."""
    max_central_directory_bytes: int = 64 * MiB
    """zipfile reads the whole central directory into memory; a legitimate one is a few MiB."""
    max_folder_depth: int = 32
    max_problems: int = 500
    """Stop collecting after this many; a reviewer cannot use more, and a hostile manifest
    could produce millions."""
    max_warnings: int = 100


@dataclass(frozen=True)
class PackageArtifact:
    """One artifact as the manifest lists it, already verified and staged under `sha256`."""

    path: str
    kind: ArtifactKind
    sha256: str
    bytes: int
    description: str | None = None


@dataclass(frozen=True)
class DeveloperInfo:
    name: str
    contact_name: str
    contact_email: str
    address: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    intended_release: dt.date
    family: str | None = None
    modalities: tuple[str, ...] = ()
    deployment: tuple[str, ...] = ()
    parameters_billion: float | None = None
    description: str | None = None


@dataclass(frozen=True)
class ValidatedPackage:
    """A package whose manifest is valid and whose artifacts are all staged and verified.

    Nothing is in the blob store yet: the caller promotes the staging area in the same
    step as its database commit, or discards it.
    """

    source_path: Path
    source_kind: str
    """"folder" or "zip"."""
    manifest: dict[str, Any]
    manifest_bytes: bytes
    manifest_sha256: str
    kind: PackageKind
    package_id: str
    refers_to: str | None
    submitted_at: dt.datetime
    """Timezone-aware, as the manifest gives it (not converted to UTC)."""
    developer: DeveloperInfo
    model: ModelInfo
    artifacts: tuple[PackageArtifact, ...]
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def total_bytes(self) -> int:
        return sum(artifact.bytes for artifact in self.artifacts)


class ImportProgress(NamedTuple):
    """Reported after every chunk and at each file boundary; a tuple, so it unpacks as
    (bytes_done, bytes_total, files_done, files_total, current_path)."""

    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    current_path: str


ProgressListener = Callable[[ImportProgress], None]
CancelCheck = Callable[[], bool]
