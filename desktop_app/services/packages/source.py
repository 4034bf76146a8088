"""A package as a set of named entries, whether it is a folder or a zip.

The reader only ever asks a source for its entry list and for a stream of one listed
file; it never builds a file-system path from a name in the package. Reads are wrapped
so that anything the bytes of a hostile package can make a decoder raise becomes a
`PackageReadError` naming the entry, and never escapes as a bare library exception.
"""

from __future__ import annotations

import enum
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Self

from desktop_app.domain.errors import Problem
from desktop_app.services.packages.text import shown_name


class EntryKind(enum.Enum):
    FILE = "file"
    FOLDER = "folder"
    LINK = "link"
    SPECIAL = "special"
    """A device, pipe or socket: never read."""


@dataclass(frozen=True)
class Entry:
    name: str
    """Relative POSIX name inside the package, exactly as the package spells it."""
    kind: EntryKind
    size: int = 0


class PackageReadError(Exception):
    """An entry could not be read as the package claims (damaged, lying, or swapped)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason

    def as_problem(self) -> Problem:
        return Problem(self.reason, file=shown_name(self.name))


_DECODER_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
)
"""What zipfile, zlib and bz2 raise on malformed data (BadZipFile is a ValueError subclass
in some versions and not in others, so it is listed too)."""


def read_failure_reason(error: BaseException) -> str:
    if isinstance(error, zipfile.BadZipFile) and "CRC" in str(error):
        return "its data does not match its CRC-32 (damaged, or its headers lie about its size)"
    if isinstance(error, zlib.error):
        return "its compressed data is corrupt"
    if isinstance(error, EOFError):
        return "its data ends before the size its header gives"
    if isinstance(error, OSError) and error.strerror:
        return f"could not be read: {error.strerror}"
    return f"could not be read: {shown_name(str(error), 120)}"


class GuardedReader:
    """A binary stream whose decoding failures surface as PackageReadError."""

    def __init__(self, raw: Any, name: str) -> None:
        self._raw = raw
        self.name = name

    def readinto(self, buffer: Any) -> int:
        try:
            return int(self._raw.readinto(buffer) or 0)
        except _DECODER_ERRORS as error:
            raise PackageReadError(self.name, read_failure_reason(error)) from error

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._raw.read(size))
        except _DECODER_ERRORS as error:
            raise PackageReadError(self.name, read_failure_reason(error)) from error

    def close(self) -> None:
        try:
            self._raw.close()
        except _DECODER_ERRORS:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_bounded(stream: GuardedReader, limit: int) -> bytes:
    """At most `limit + 1` bytes, so "longer than allowed" is seen without reading it all."""
    chunks: list[bytes] = []
    remaining = limit + 1
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class PackageSource(ABC):
    """A folder or a zip, opened once; use as a context manager."""

    kind: str
    path: Path

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        """What is wrong with the container itself (links, bombs, lying headers…)."""
        self._troubled: set[str] = set()

    @property
    @abstractmethod
    def entries(self) -> Mapping[str, Entry]:
        """Every entry, by exact name; folders without a trailing slash."""

    @abstractmethod
    def open_file(self, name: str) -> GuardedReader:
        """A stream of a file entry; raises PackageReadError if it is not one any more."""

    def note(self, name: str, message: str) -> None:
        """Record a container problem about one entry."""
        self.problems.append(Problem(message, file=shown_name(name)))
        self._troubled.add(name)

    def has_problem(self, name: str) -> bool:
        """Whether a container problem already concerns this entry (so it is not read)."""
        return name in self._troubled

    def read_manifest(self, name: str, limit: int) -> bytes:
        with self.open_file(name) as stream:
            return read_bounded(stream, limit)

    def close(self) -> None:
        """Release the handles the source holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def as_binary(stream: GuardedReader) -> BinaryIO:
    """For type checkers: GuardedReader offers the part of BinaryIO that staging uses."""
    return stream  # type: ignore[return-value]
