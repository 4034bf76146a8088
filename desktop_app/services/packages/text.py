"""How package content appears inside messages a reviewer reads.

Names and values come from a hostile package: they may be megabytes long, hold control
characters, bidirectional overrides that reorder the line on screen, or unpaired
surrogates. Everything quoted in a Problem goes through `shown()` or `shown_name()`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import Any

_MAX_SHOWN = 80
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _escape_unsafe(text: str) -> str:
    out = []
    for char in text:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_name(name: str, limit: int = 200) -> str:
    """A file or member name, safe to print: unsafe characters escaped, length bounded."""
    return _escape_unsafe(_shorten(name, limit))


def shown(value: Any, limit: int = _MAX_SHOWN) -> str:
    """A JSON value as it would be written, safe to print, at most `limit` characters."""
    if isinstance(value, str):
        return '"' + _escape_unsafe(_shorten(value, limit)).replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return _escape_unsafe(_shorten(text, limit))


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def field_path(parts: Iterable[str | int]) -> str:
    """`artifacts[2].sha256` from the JSON path ("artifacts", 2, "sha256")."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isascii() and part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{shown(part, 40)}]"
    return out


def join_field(base: str, key: str) -> str:
    if key.isascii() and key.isidentifier():
        return f"{base}.{key}" if base else key
    return f"{base}[{shown(key, 40)}]"


def count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number:,} " + (noun if number == 1 else plural or noun + "s")
