"""A package folder, read without ever following a link.

Where the platform allows (Linux, macOS, BSD) every step below the package root is
opened relative to its parent's descriptor with O_NOFOLLOW, so a link swapped in after
the listing cannot send a read outside the package; the file actually opened is then
checked with fstat (regular, one name, not a device). Elsewhere (Windows) each step is
lstat-ed and the opened file compared with it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.services.packages.model import PackageLimits
from desktop_app.services.packages.source import Entry, EntryKind, GuardedReader, PackageReadError, PackageSource
from desktop_app.services.packages.text import shown_name

_REPARSE_POINT = 0x400
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
"""Opening a FIFO for reading would otherwise wait for a writer forever."""
_BINARY = getattr(os, "O_BINARY", 0)

LINK_REFUSED = "is a symbolic link; links are refused and never followed"


def descriptor_walk_supported() -> bool:
    return bool(
        _NOFOLLOW
        and _DIRECTORY
        and os.open in os.supports_dir_fd
        and os.stat in os.supports_dir_fd
        and os.scandir in os.supports_fd
    )


def _kind_of(mode: int, attributes: int = 0) -> EntryKind:
    if stat.S_ISLNK(mode) or attributes & _REPARSE_POINT:
        return EntryKind.LINK
    if stat.S_ISDIR(mode):
        return EntryKind.FOLDER
    if stat.S_ISREG(mode):
        return EntryKind.FILE
    return EntryKind.SPECIAL


def _hard_link(links: int) -> str:
    return f"is a hard link (the same file has {links} names); links are refused"


class FolderSource(PackageSource):
    kind = "folder"

    def __init__(self, path: Path, limits: PackageLimits, *, use_descriptors: bool | None = None) -> None:
        super().__init__(path)
        self._limits = limits
        self._by_descriptor = descriptor_walk_supported() if use_descriptors is None else use_descriptors
        self._entries: dict[str, Entry] = {}
        self._root_fd: int | None = None
        try:
            if self._by_descriptor:
                self._root_fd = os.open(path, os.O_RDONLY | _DIRECTORY)
                self._walk_descriptor(self._root_fd, "", 0)
            else:
                self._walk_paths(path, "", 0)
        except _Refused as refused:
            self.close()
            raise InputRejected([refused.problem], subject=str(path)) from None
        except OSError as error:
            self.close()
            raise InputRejected([Problem(f"the folder cannot be read: {error.strerror}")], subject=str(path)) from None

    # --- listing ---------------------------------------------------------------------

    def _add(self, name: str, kind: EntryKind, size: int, links: int) -> None:
        if len(self._entries) >= self._limits.max_members:
            limit = self._limits.max_members
            raise _Refused(Problem(f"the package holds more than {limit:,} files and folders; at most {limit:,} are accepted"))
        self._entries[name] = Entry(name, kind, size)
        if kind is EntryKind.LINK:
            self.note(name, LINK_REFUSED)
        elif kind is EntryKind.FILE and links > 1:
            self.note(name, _hard_link(links))

    def _check_depth(self, name: str, depth: int) -> None:
        if depth > self._limits.max_folder_depth:
            limit = self._limits.max_folder_depth
            raise _Refused(Problem(f"is nested more than {limit} folders deep", file=shown_name(name)))

    def _walk_descriptor(self, dir_fd: int, prefix: str, depth: int) -> None:
        folders = []
        with os.scandir(dir_fd) as listing:
            for item in listing:
                name = prefix + item.name
                info = os.stat(item.name, dir_fd=dir_fd, follow_symlinks=False)
                kind = _kind_of(info.st_mode)
                self._add(name, kind, info.st_size, info.st_nlink)
                if kind is EntryKind.FOLDER:
                    folders.append(item.name)
        for folder in sorted(folders):
            name = prefix + folder
            self._check_depth(name, depth + 1)
            try:
                child = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=dir_fd)
            except OSError as error:
                self.note(name, f"cannot be listed: {error.strerror}")
                continue
            try:
                self._walk_descriptor(child, name + "/", depth + 1)
            finally:
                os.close(child)

    def _walk_paths(self, folder: Path, prefix: str, depth: int) -> None:
        folders = []
        with os.scandir(folder) as listing:
            for item in listing:
                name = prefix + item.name
                info = item.stat(follow_symlinks=False)
                attributes = getattr(info, "st_file_attributes", 0)
                kind = EntryKind.LINK if item.is_junction() else _kind_of(info.st_mode, attributes)
                self._add(name, kind, info.st_size, info.st_nlink)
                if kind is EntryKind.FOLDER:
                    folders.append(item.name)
        for child in sorted(folders):
            name = prefix + child
            self._check_depth(name, depth + 1)
            try:
                self._walk_paths(folder / child, name + "/", depth + 1)
            except OSError as error:
                self.note(name, f"cannot be listed: {error.strerror}")

    @property
    def entries(self) -> Mapping[str, Entry]:
        return self._entries

    # --- reading ---------------------------------------------------------------------

    def open_file(self, name: str) -> GuardedReader:
        fd = self._open_descriptor(name) if self._by_descriptor else self._open_checked_path(name)
        try:
            self._check_opened(name, os.fstat(fd))
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            raw = os.fdopen(fd, "rb", buffering=0)
        except BaseException:
            os.close(fd)
            raise
        return GuardedReader(raw, name)

    def _open_descriptor(self, name: str) -> int:
        assert self._root_fd is not None
        parts = name.split("/")
        dir_fd = os.dup(self._root_fd)
        try:
            for part in parts[:-1]:
                next_fd = self._open_step(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd, name)
                os.close(dir_fd)
                dir_fd = next_fd
            return self._open_step(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK, dir_fd, name)
        finally:
            os.close(dir_fd)

    @staticmethod
    def _open_step(part: str, flags: int, dir_fd: int, name: str) -> int:
        try:
            return os.open(part, flags, dir_fd=dir_fd)
        except OSError as error:
            try:
                is_link = stat.S_ISLNK(os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            except OSError:
                is_link = False
            if is_link:
                raise PackageReadError(name, LINK_REFUSED) from None
            raise PackageReadError(name, f"cannot be opened: {error.strerror}") from None

    def _open_checked_path(self, name: str) -> int:
        current = self.path
        info = None
        for part in name.split("/"):
            current = current / part
            try:
                info = os.lstat(current)
            except OSError as error:
                raise PackageReadError(name, f"cannot be opened: {error.strerror}") from None
            if _kind_of(info.st_mode, getattr(info, "st_file_attributes", 0)) is EntryKind.LINK:
                raise PackageReadError(name, LINK_REFUSED)
        try:
            fd = os.open(current, os.O_RDONLY | _BINARY | _NONBLOCK)
        except OSError as error:
            raise PackageReadError(name, f"cannot be opened: {error.strerror}") from None
        if info is None or not os.path.samestat(info, os.fstat(fd)):
            os.close(fd)
            raise PackageReadError(name, "changed while it was being opened")
        return fd

    @staticmethod
    def _check_opened(name: str, info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            raise PackageReadError(name, "is not a regular file")
        if info.st_nlink > 1:
            raise PackageReadError(name, _hard_link(info.st_nlink))

    def close(self) -> None:
        if self._root_fd is not None:
            os.close(self._root_fd)
            self._root_fd = None


class _Refused(Exception):
    """A limit was hit while listing: stop at once, the package is refused."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem
