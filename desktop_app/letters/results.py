"""What rendering a letter gives back: plain data that the layout makes and signing reads.

Kept apart from `render` (the entry point) and `_layout` (reportlab), so neither imports
the other for its types and signing needs neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.letters.content import Signatory


@dataclass(frozen=True)
class SignatureBox:
    """Where the visible signature goes: a 0-based page index and PDF user-space points."""

    page_index: int
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class RenderedLetter:
    """An unsigned letter and what signing needs to place and label the visible signature.

    Plain picklable data, so a worker process can render it off the GUI thread.
    """

    number: str
    pdf: bytes
    page_count: int
    signature_box: SignatureBox
    signatory: Signatory
