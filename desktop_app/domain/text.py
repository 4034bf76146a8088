"""What text the application accepts from people and packages, and how names are compared.

Text a reviewer reads in the window must be the text a signed letter prints. Bidirectional
controls reorder what is shown (U+202E made "3.1" look like "1.3"), zero-width characters
hide differences (a developer name with U+200B is another name that looks the same), and
control characters or unpaired surrogates are not stored faithfully by every database or
file. They are refused with one line naming the field; names are compared in Unicode
normal form C, so a composed and a decomposed "é" are the same name.
"""

from __future__ import annotations

import unicodedata

from desktop_app.domain.errors import InputRejected, Problem

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
"""Embeddings, overrides, isolates and marks: they change the order in which text is shown."""

ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
"""Characters that take no space: two strings differing only in them look the same."""

LINE_BREAKS = frozenset("\n\r")


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def text_problem(text: str, *, multiline: bool = True) -> str | None:
    """Why `text` is refused (None when it is accepted).

    NUL, C0 and C1 controls (tab always allowed; line breaks only in `multiline` text),
    unpaired surrogates, bidirectional controls and zero-width characters.
    """
    for char in text:
        if char == "\x00":
            return "contains a NUL character (U+0000)"
        if "\ud800" <= char <= "\udfff":
            return f"contains an unpaired surrogate ({_code(char)}), which is not text"
        if char in BIDI_CONTROLS:
            return (f"contains the bidirectional control {_code(char)}, which shows the text in another order "
                    f"than it is stored")
        if char in ZERO_WIDTH:
            return f"contains the invisible character {_code(char)}, which hides a difference in the text"
        if char == "\t" or (multiline and char in LINE_BREAKS):
            continue
        if char in LINE_BREAKS:
            return "must be a single line"
        if unicodedata.category(char) == "Cc":
            return f"contains the control character {_code(char)}"
    return None


def checked(text: str, field: str, *, multiline: bool = True) -> str:
    """`text` when it is accepted; otherwise InputRejected naming `field`."""
    problem = text_problem(text, multiline=multiline)
    if problem is not None:
        raise InputRejected(Problem(problem, field=field))
    return text


def field_problems(fields: dict[str, str], *, single_line: frozenset[str] = frozenset()) -> list[Problem]:
    """One problem for each refused field of a form."""
    found = []
    for field, text in fields.items():
        problem = text_problem(text or "", multiline=field not in single_line)
        if problem is not None:
            found.append(Problem(problem, field=field))
    return found


def name_key(name: str) -> str:
    """The form in which names are stored and compared: NFC, outer white space removed."""
    return unicodedata.normalize("NFC", name).strip()
