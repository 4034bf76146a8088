"""The rules for paths inside a package, shared by manifest checks and zip member checks.

A listed path must name the same file on every platform and for every tool that later
opens the package, so beyond the contract's rules (relative POSIX, no `..`, no leading
`/`, no backslash, no drive letter) it refuses what would make two tools disagree:
empty or `.` segments, control characters, Windows device names and trailing dots, and
two paths that differ only in letter case or Unicode normalisation.
"""

from __future__ import annotations

import re
import unicodedata

_DRIVE = re.compile(r"^[A-Za-z]:")
_WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul", "conin$", "conout$", "clock$"]
    + [f"com{n}" for n in "0123456789¹²³"]
    + [f"lpt{n}" for n in "0123456789¹²³"]
)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in text)


def listed_path_problems(path: str) -> list[str]:
    """Why `path` is not an acceptable artifact path (empty list when it is)."""
    if "\x00" in path:
        return ["contains a NUL character"]
    if _has_control(path):
        return ["contains a control character"]
    problems: list[str] = []
    if "\\" in path:
        problems.append('expected a relative POSIX path with "/" separators; it contains a backslash')
    if path.startswith("/"):
        problems.append('expected a relative path; it starts with "/"')
    elif _DRIVE.match(path):
        problems.append(f'expected a relative path; "{path[:2]}" is a drive letter')
    segments = path.split("/")
    if ".." in segments:
        problems.append('must not contain ".." (it would leave the package)')
    if "." in segments:
        problems.append('must not contain "." segments')
    if "" in segments[1:] or (segments[0] == "" and not path.startswith("/")):
        problems.append('has an empty segment ("//" or a trailing "/")')
    problems += _portability_problems(segments)
    return problems


def _portability_problems(segments: list[str]) -> list[str]:
    problems = []
    for segment in segments:
        if segment in ("", ".", ".."):
            continue
        if segment[-1] in ". ":
            problems.append(f'"{segment}" ends with a dot or space, which Windows drops')
        elif segment.split(".")[0].rstrip(" ").lower() in _WINDOWS_DEVICES:
            problems.append(f'"{segment}" is a device name on Windows')
    return problems


def member_path_problem(name: str) -> str | None:
    """Why a zip member name is refused outright, whether listed or not.

    Backslashes count as separators here: tools on Windows treat them so, and a member
    named `..\\..\\x` is a traversal for them.
    """
    if "\x00" in name:
        return "member name contains a NUL character"
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        return "member path is absolute"
    if ".." in unified.split("/"):
        return 'member path contains ".." (it would leave the package)'
    return None


def collision_key(path: str) -> str:
    """Paths with equal keys may be the same file on a case-insensitive or normalising file system.

    Stricter than any one file system: compatibility forms are folded (NFKC), and the
    text is upper-cased before it is case-folded, because NTFS compares upper-cased
    names, under which the dotless "ı" and the long "ſ" become "I" and "S".
    """
    folded = unicodedata.normalize("NFKC", path).upper().casefold()
    return unicodedata.normalize("NFKC", folded)


def parent_folders(path: str) -> list[str]:
    segments = path.split("/")
    return ["/".join(segments[:i]) for i in range(1, len(segments))]
