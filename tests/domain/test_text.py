"""The character rules of domain.text (issue 14, item 7)."""

from __future__ import annotations

import unicodedata

import pytest

from desktop_app.domain.errors import InputRejected
from desktop_app.domain.text import BIDI_CONTROLS, ZERO_WIDTH, checked, name_key, text_problem


@pytest.mark.parametrize("char", sorted(BIDI_CONTROLS | ZERO_WIDTH))
def test_every_bidi_control_and_zero_width_character_is_refused(char: str) -> None:
    assert text_problem(f"3.1{char}") is not None


def test_the_listed_characters_are_the_ones_the_issue_names() -> None:
    assert BIDI_CONTROLS == {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x61C]}
    assert ZERO_WIDTH == {chr(c) for c in [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]}


def test_controls_lines_and_surrogates() -> None:
    assert text_problem("two lines\n\tand a tab\r\n") is None
    assert text_problem("one\nline", multiline=False) == "must be a single line"
    assert text_problem("bell\x07") == "contains the control character U+0007"
    assert text_problem("c1\x85") == "contains the control character U+0085"
    assert text_problem("nul\x00") == "contains a NUL character (U+0000)"
    assert text_problem("\udfff") == "contains an unpaired surrogate (U+DFFF), which is not text"
    assert text_problem("Société — ok 😀") is None
    with pytest.raises(InputRejected, match=r"reason: contains the bidirectional control U\+202E"):
        checked("\u202e", "reason")


def test_names_compare_in_normal_form_c() -> None:
    assert name_key(unicodedata.normalize("NFD", " Société ")) == name_key("Société") == "Société"
