"""A package zip, read member by member; nothing is ever extracted to a path.

Before zipfile parses the central directory (it holds all of it in memory and makes an
object per entry) the directory's size and entry count are checked. Then every member
is judged before any is read: encryption, unsupported methods, links and special files,
absolute and parent paths, duplicate names, names that two tools would read differently,
local headers that disagree with the central directory, members that overlap (the
"overlapping files" bomb), and size and ratio limits. Reading caps each member at the
size its header declares, and the CRC check catches a member that lies about it.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.services.packages.model import PackageLimits
from desktop_app.services.packages.paths import member_path_problem
from desktop_app.services.packages.source import (
    Entry,
    EntryKind,
    GuardedReader,
    PackageReadError,
    PackageSource,
    read_failure_reason,
)
from desktop_app.services.packages.text import shown_name

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ENCRYPTED = 0x0001
_DATA_DESCRIPTOR = 0x0008
_PATCHED = 0x0020
_STRONG_ENCRYPTION = 0x0040
_UTF8_NAME = 0x0800
_ENCRYPTED_DIRECTORY = 0x2000
_DOS_REPARSE_POINT = 0x400
_ACCEPTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
"""Only methods zipfile decompresses with a bound on each call's output. For bzip2 it
decompresses a whole read at once (a few MiB of bzip2 can expand to terabytes while the
header claims a small size), and for LZMA the archive picks the decoder's dictionary
size with no memory limit available."""
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_CENTRAL_HEADER = struct.Struct("<4s4B4HL2L5H2L")
_UNKNOWN_SIZE = 0xFFFFFFFF


def _refuse(path: Path, message: str) -> InputRejected:
    return InputRejected([Problem(message)], subject=str(path))


# --- before zipfile parses anything --------------------------------------------------


def _prescan(handle: BinaryIO, path: Path, limits: PackageLimits) -> None:
    """Bound the central directory zipfile is about to load.

    It uses zipfile's own end-record reader so both agree on where the directory is.
    """
    find_end = getattr(zipfile, "_EndRecData", None)
    if find_end is None:  # a future Python: rely on the member count check after parsing
        return
    try:
        end = find_end(handle)
    except (OSError, struct.error, zipfile.BadZipFile) as error:
        raise _refuse(path, f"is not a readable zip archive ({shown_name(str(error), 100)})") from None
    if not end:
        raise _refuse(path, "is not a zip archive: it has no end-of-central-directory record")
    declared, size, offset, location = end[4], end[5], end[6], end[9]
    if declared > limits.max_members:
        raise _refuse(path, _too_many(limits, declared))
    if size > limits.max_central_directory_bytes:
        raise _refuse(
            path,
            f"its central directory is {size:,} bytes; at most {limits.max_central_directory_bytes:,} are accepted",
        )
    concat = location - size - offset
    if end[0] == getattr(zipfile, "stringEndArchive64", b"PK\x06\x06"):
        concat -= 56 + 20  # the zip64 end record and its locator sit between
    start = offset + concat
    if start >= 0 and _count_central_entries(handle, start, size, limits.max_members) > limits.max_members:
        raise _refuse(path, _too_many(limits, None))


def _count_central_entries(handle: BinaryIO, start: int, size: int, stop_after: int) -> int:
    handle.seek(start)
    total = count = 0
    while total < size and count <= stop_after:
        header = handle.read(_CENTRAL_HEADER.size)
        if len(header) < _CENTRAL_HEADER.size or header[:4] != b"PK\x01\x02":
            break  # malformed: zipfile will say so
        name_length, extra_length, comment_length = struct.unpack_from("<3H", header, 28)
        handle.seek(name_length + extra_length + comment_length, os.SEEK_CUR)
        total += _CENTRAL_HEADER.size + name_length + extra_length + comment_length
        count += 1
    return count


def _too_many(limits: PackageLimits, declared: int | None) -> str:
    held = f"{declared:,} members" if declared is not None else f"more than {limits.max_members:,} members"
    return f"the zip holds {held}; at most {limits.max_members:,} are accepted"


# --- judging members -------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    name: str
    raw_name: bytes
    kind: EntryKind


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    encoding = "utf-8" if info.flag_bits & _UTF8_NAME else "cp437"
    try:
        return info.orig_filename.encode(encoding)
    except UnicodeEncodeError:
        return info.orig_filename.encode("utf-8", "surrogatepass")


def _member_kind(info: zipfile.ZipInfo) -> EntryKind:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode) or (info.create_system == 0 and info.external_attr & _DOS_REPARSE_POINT):
        return EntryKind.LINK
    if info.orig_filename.endswith("/") or stat.S_ISDIR(mode):
        return EntryKind.FOLDER
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return EntryKind.SPECIAL
    return EntryKind.FILE


def _expected_display_name(raw: str) -> str:
    """The name zipfile derives from the raw one when no Unicode-path field overrides it."""
    name = raw.split("\x00", 1)[0]
    return name.replace(os.sep, "/") if os.sep != "/" else name


def member_problems(member: _Member, limits: PackageLimits,
                    methods: Mapping[int, str] = _ACCEPTED_METHODS) -> list[str]:
    info, name = member.info, member.name
    found = []
    path_problem = member_path_problem(name)
    if path_problem:
        found.append(path_problem)
    if info.filename != _expected_display_name(name):
        found.append(f"its Unicode path field names it {shown_name(info.filename)!s}; tools would disagree on its name")
    if info.flag_bits & (_ENCRYPTED | _STRONG_ENCRYPTION | _ENCRYPTED_DIRECTORY):
        found.append("is encrypted; encrypted members are refused")
    if info.flag_bits & _PATCHED:
        found.append("uses compressed patch data, which is not supported")
    if info.compress_type not in methods:
        *first, last = methods.values()
        accepted = f"{', '.join(first)} and {last}" if first else last
        found.append(f"uses compression method {info.compress_type}; only {accepted} are accepted")
    if member.kind is EntryKind.LINK:
        found.append("is a symbolic link; links are refused and never followed")
    elif member.kind is EntryKind.SPECIAL:
        found.append("is a device, pipe or socket, not a file")
    found += _ratio_problem(info, limits)
    return found


def _ratio_problem(info: zipfile.ZipInfo, limits: PackageLimits) -> list[str]:
    if info.file_size <= limits.ratio_applies_above:
        return []
    if info.file_size <= limits.max_ratio * info.compress_size:
        return []
    ratio = info.file_size / info.compress_size if info.compress_size else float("inf")
    return [
        f"expands from {info.compress_size:,} to {info.file_size:,} bytes (ratio {ratio:,.0f}:1); "
        f"at most {limits.max_ratio:,.0f}:1 is accepted for members over {limits.ratio_applies_above:,} bytes"
    ]


def _local_header_problem(handle: BinaryIO, member: _Member) -> tuple[str | None, int]:
    """Compare the local header with the central one; returns (problem, end of data)."""
    info = member.info
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size:
        return "its local header is missing (the archive is truncated)", info.header_offset
    (signature, _, _, flags, method, _, _, crc, compressed, size, name_length, extra_length) = _LOCAL_HEADER.unpack(header)
    end = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length + info.compress_size
    if signature != b"PK\x03\x04":
        return "its local header is missing or damaged", end
    if handle.read(name_length) != member.raw_name:
        return "its local header gives a different name than the central directory", end
    if method != info.compress_type or (flags & _ENCRYPTED) != (info.flag_bits & _ENCRYPTED):
        return "its local header disagrees with the central directory about how it is stored", end
    if not flags & _DATA_DESCRIPTOR:
        for local, central in ((crc, info.CRC), (compressed, info.compress_size), (size, info.file_size)):
            if local != central and local != _UNKNOWN_SIZE:
                return "its local header disagrees with the central directory about its size or CRC", end
    return None, end


class ZipSource(PackageSource):
    kind = "zip"
    accepted_methods: Mapping[int, str] = _ACCEPTED_METHODS
    """Compression methods read; a subclass that decodes another one with a bound adds it."""

    def __init__(self, path: Path, handle: BinaryIO, limits: PackageLimits) -> None:
        super().__init__(path)
        self._handle = handle
        self._limits = limits
        self._members: dict[str, _Member] = {}
        self._entries: dict[str, Entry] = {}
        try:
            _prescan(handle, path, limits)
            self._zip = self._parse(handle, path)
            infos = self._zip.infolist()
            if len(infos) > limits.max_members:
                raise _refuse(path, _too_many(limits, len(infos)))
            self._inspect(infos)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _parse(handle: BinaryIO, path: Path) -> zipfile.ZipFile:
        handle.seek(0)
        try:
            return zipfile.ZipFile(handle)
        # A hostile central directory can make zipfile raise almost anything; each is a
        # refusal of the package, never a crash.
        except Exception as error:
            raise _refuse(path, f"is not a valid zip archive ({shown_name(str(error), 120)})") from None

    def _inspect(self, infos: list[zipfile.ZipInfo]) -> None:
        members = [_Member(info, info.orig_filename, _raw_name(info), _member_kind(info)) for info in infos]
        duplicates = Counter(member.name for member in members)
        for member in members:
            for message in member_problems(member, self._limits, self.accepted_methods):
                self.note(member.name, message)
            key = member.name.rstrip("/") if member.kind is EntryKind.FOLDER else member.name
            if member.name in self._members:
                continue
            if duplicates[member.name] > 1:
                self.note(member.name, f"appears {duplicates[member.name]} times in the zip; duplicate names are refused")
            self._members[member.name] = member
            self._entries.setdefault(key, Entry(key, member.kind, member.info.file_size))
        self._check_totals(members)
        self._check_layout(members)

    def _check_totals(self, members: list[_Member]) -> None:
        total = sum(member.info.file_size for member in members)
        if total > self._limits.max_total_bytes:
            self.problems.append(
                Problem(
                    f"the zip's members add up to {total:,} bytes uncompressed; "
                    f"at most {self._limits.max_total_bytes:,} are accepted"
                )
            )

    def _check_layout(self, members: list[_Member]) -> None:
        """Local headers agree with the central directory, and no two members share bytes."""
        ordered = sorted(members, key=lambda item: item.info.header_offset)
        if ordered and ordered[0].info.header_offset > 0:
            # Prepended bytes (a self-extractor stub, a polyglot) are read by some tools as the file.
            self.problems.append(Problem(
                f"holds {ordered[0].info.header_offset:,} bytes of other data before its first member; "
                "a package zip must start with a member"))
        previous_end, previous_name = 0, ""
        for member in ordered:
            try:
                problem, end = _local_header_problem(self._handle, member)
            except (OSError, ValueError) as error:
                problem, end = read_failure_reason(error), member.info.header_offset
            if problem:
                self.note(member.name, problem)
            if member.info.header_offset < previous_end:
                self.note(
                    member.name,
                    f"overlaps member {shown_name(previous_name)} in the archive (a zip-bomb technique); refused",
                )
            if end > self._zip.start_dir:
                self.note(member.name, "its data runs into the central directory (the archive is damaged)")
            previous_end, previous_name = max(previous_end, end), member.name

    @property
    def entries(self) -> Mapping[str, Entry]:
        return self._entries

    def open_file(self, name: str) -> GuardedReader:
        member = self._members.get(name)
        if member is None or member.kind is not EntryKind.FILE:
            raise PackageReadError(name, "is not a file in the zip")
        try:
            raw = self._open_member(member.info)
        except Exception as error:  # same reasoning as in _parse
            raise PackageReadError(name, read_failure_reason(error)) from None
        return GuardedReader(raw, name)

    def _open_member(self, info: zipfile.ZipInfo) -> BinaryIO:
        return self._zip.open(info)

    def member_info(self, name: str) -> zipfile.ZipInfo | None:
        """The central-directory entry of a file member (for its declared sizes)."""
        member = self._members.get(name)
        return member.info if member is not None and member.kind is EntryKind.FILE else None

    def close(self) -> None:
        zip_file = getattr(self, "_zip", None)
        if zip_file is not None:
            zip_file.close()
        self._handle.close()
