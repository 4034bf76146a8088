"""Content-addressed blob store: artifacts, evidence and letters, named by SHA-256.

Blobs are never named after anything in a package. Writes go to a staging folder inside
the store (same filesystem), are hashed while they are copied, fsynced, and only then
renamed into place, so a blob either exists whole under its digest or not at all.
A staging area is promoted together with the database commit that references it;
anything left in staging by a crash is removed at the next start.

Several processes (and, with a shared blob folder, several workstations) may write to
one store, so a staging area is named after its host and process, and the clean-up at
start removes only areas whose process is gone. Promotion first writes the digests it
is about to create to a journal inside the staging area: if the process dies between
promoting and committing, the clean-up asks the database whether those blobs are
referenced and removes the ones that are not, so no blob outlives a rolled-back write.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from desktop_app.domain.errors import IntegrityFailure, OperationCancelled

CHUNK_SIZE = 4 * 1024 * 1024
"""Large enough that hashing runs at OpenSSL speed; small enough for flat memory."""

_FADVISE = hasattr(os, "posix_fadvise")

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just processed."""
CancelCheck = Callable[[], bool]
ReferenceCheck = Callable[[Iterable[str]], set[str]]
"""Given digests, returns those the database refers to."""

PROMOTION_JOURNAL = "promoting"
"""Inside a staging area: the digests its promotion creates, written before the renames."""
FOREIGN_AREA_AGE = 24 * 3600
"""An area of another workstation is left alone for this long (its process may still run)."""
_NODE = platform.node() or "localhost"


def _area_name() -> str:
    return f"{_NODE}.{os.getpid()}.{uuid.uuid4().hex}"


def _process_alive(pid: int) -> bool:
    """POSIX only: on Windows os.kill(pid, 0) would send CTRL_C_EVENT."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _abandoned(area: Path) -> bool:
    """True when the area's writer is gone: a dead process here, or an old area of another host."""
    parts = area.name.rsplit(".", 2)  # host (may contain dots), pid, random token
    if len(parts) != 3 or not parts[1].isdigit():  # not named by this scheme: an old version's leftover
        return True
    node, pid = parts[0], int(parts[1])
    if node == _NODE and sys.platform != "win32":
        return pid != os.getpid() and not _process_alive(pid)
    try:  # another workstation's area (or Windows, where liveness is not asked): give it a day
        return time.time() - area.stat().st_mtime > FOREIGN_AREA_AGE
    except OSError:
        return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_sha256_hex(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


@dataclass(frozen=True)
class StagedBlob:
    sha256: str
    size: int
    temp_path: Path


class BlobStore:
    """Blobs under `root/ab/cdef…` with a sibling `.staging/` for writes in progress."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.staging_root = self.root / ".staging"

    def path_for(self, sha256: str) -> Path:
        if not is_sha256_hex(sha256):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")

    def read_bytes(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def verify(self, sha256: str) -> None:
        """Re-hash a stored blob; raise IntegrityFailure if it no longer matches its name."""
        digest = hashlib.sha256()
        with self.open(sha256) as handle:
            for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise IntegrityFailure(f"blob {sha256} is damaged: its content no longer matches its digest")

    def all_digests(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for blob in sorted(sub.iterdir()):
                    if is_sha256_hex(blob.name):
                        yield blob.name

    def export(self, sha256: str, folder: Path, name: str) -> Path:
        """Re-verify a blob and copy it to `folder/name`, adding " (2)", " (3)"… rather than overwrite.

        `name` must already be a single safe path component (the caller sanitises it).
        """
        self.verify(sha256)
        stem, suffix = Path(name).stem, Path(name).suffix
        target = Path(folder) / name
        counter = 1
        while target.exists():
            counter += 1
            target = Path(folder) / f"{stem} ({counter}){suffix}"
        with self.open(sha256) as source, open(target, "xb") as out:
            shutil.copyfileobj(source, out, CHUNK_SIZE)
        return target

    def staging(self) -> StagingArea:
        return StagingArea(self)

    def clean_staging(self, referenced: ReferenceCheck | None = None) -> int:
        """Remove what interrupted writes left behind; returns how many areas were removed.

        Areas of processes still running are kept. Blobs an interrupted promotion created
        are removed too when `referenced` says no database row names them (the commit
        that needed them never happened); without `referenced` they stay.
        """
        if not self.staging_root.is_dir():
            return 0
        count = 0
        for area in self.staging_root.iterdir():
            if not _abandoned(area):
                continue
            journal = area / PROMOTION_JOURNAL
            if referenced is not None and journal.is_file():
                promoted = {d for d in journal.read_text(encoding="ascii", errors="replace").split()
                            if is_sha256_hex(d)}
                for digest in promoted - referenced(promoted):
                    self.path_for(digest).unlink(missing_ok=True)
            shutil.rmtree(area, ignore_errors=True)
            count += 1
        return count

    def put_bytes(self, data: bytes) -> str:
        """Store small content (a letter, an evidence note) outside any larger staging."""
        with self.staging() as area:
            staged = area.write_bytes(data)
            area.promote()
        return staged.sha256


@dataclass
class StagingArea:
    """A private folder of staged blobs, promoted together or discarded together.

    Use as a context manager: leaving the block discards whatever was not promoted.
    `promote()` returns the digests that did not exist before, so a failed database
    commit can take exactly those back with `rollback_promotion()`.
    """

    store: BlobStore
    staged: dict[str, StagedBlob] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder = self.store.staging_root / _area_name()
        self._made = False

    def __enter__(self) -> StagingArea:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def _ensure_folder(self) -> None:
        if not self._made:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._made = True

    def write_stream(
        self,
        source: BinaryIO,
        *,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        limit: int | None = None,
    ) -> StagedBlob:
        """Copy `source` into staging while hashing it, in one pass of large chunks.

        `limit` stops reading one byte past it, so a source that is longer than it
        claims is detected without reading it all.
        """
        self._ensure_folder()
        temp_path = self.folder / uuid.uuid4().hex
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        with temp_path.open("wb") as out:
            while True:
                if cancelled is not None and cancelled():
                    raise OperationCancelled("cancelled by the user; nothing was written")
                want = CHUNK_SIZE if limit is None else min(CHUNK_SIZE, limit + 1 - size)
                if want <= 0:
                    break
                read = source.readinto(view[:want]) if hasattr(source, "readinto") else None
                if read is None:
                    chunk = source.read(want)
                    read = len(chunk)
                    view[:read] = chunk
                if not read:
                    break
                digest.update(view[:read])
                out.write(view[:read])
                if _FADVISE:  # start writing back now: the final fsync has little left, the cache stays small
                    os.posix_fadvise(out.fileno(), size, read, os.POSIX_FADV_DONTNEED)
                size += read
                if progress is not None:
                    progress(read)
            out.flush()
            os.fsync(out.fileno())
        staged = StagedBlob(digest.hexdigest(), size, temp_path)
        self.staged.setdefault(staged.sha256, staged)
        return staged

    def write_bytes(self, data: bytes) -> StagedBlob:
        import io

        return self.write_stream(io.BytesIO(data))

    def promote(self) -> list[str]:
        """Rename every staged blob into place; returns the digests that are new."""
        touched_dirs: set[Path] = set()
        new = [sha256 for sha256 in self.staged if not self.store.path_for(sha256).exists()]
        if new:  # the journal first: a crash after a rename leaves a record of what to take back
            with (self.folder / PROMOTION_JOURNAL).open("a", encoding="ascii") as journal:
                journal.write("".join(f"{sha256}\n" for sha256 in new))
                journal.flush()
                os.fsync(journal.fileno())
        for sha256, staged in self.staged.items():
            final = self.store.path_for(sha256)
            if final.exists():
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.temp_path, final)
            self.created.append(sha256)
            touched_dirs.add(final.parent)
        for folder in touched_dirs:
            _fsync_dir(folder)
        self.staged.clear()
        return list(self.created)

    def rollback_promotion(self) -> None:
        """Undo `promote()`: remove blobs it created (the commit that needed them failed)."""
        for sha256 in self.created:
            self.store.path_for(sha256).unlink(missing_ok=True)
        self.created.clear()

    def discard(self) -> None:
        self.staged.clear()
        if self._made:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._made = False
        try:
            self.store.staging_root.rmdir()
        except OSError:
            pass
