"""Render a letter as an unsigned PDF, ready to preview and then sign.

The PDF must already carry everything the signature will vouch for: the signer's full
Unicode name (the signature stamp itself holds only Latin-1), the QR code with the
letter's data digest, the audit-chain head, and a blank area where the visible
signature will sit. `RenderedLetter` says where that area is, so signing needs no
knowledge of the layout.

The layout lives in `_layout` and imports reportlab, which is loaded on first render
only: the application starts without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.letters.content import LetterContent, Signatory


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


def render_letter(content: LetterContent, qr_code: str | None = None) -> RenderedLetter:
    """`qr_code` is the signed seal (`letters.seal`); without it the code carries the number and digest."""
    from desktop_app.letters import _layout

    return _layout.render(content, qr_code)
