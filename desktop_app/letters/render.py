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

from desktop_app.letters.content import LetterContent
from desktop_app.letters.results import RenderedLetter, SignatureBox

__all__ = ["RenderedLetter", "SignatureBox", "render_letter"]


def render_letter(content: LetterContent, qr_code: str | None = None) -> RenderedLetter:
    """`qr_code` is the signed seal (`letters.seal`); without it the code carries the number and digest."""
    from desktop_app.letters import _layout

    return _layout.render(content, qr_code)
