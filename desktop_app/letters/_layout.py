"""The platypus layout of a letter: page furniture, sections, tables, QR code.

Kept apart from `render` so that reportlab is imported only when a letter is drawn.
Fonts are shipped TrueType files embedded as subsets, so any reader shows the same
letter; names in scripts DejaVu lacks (CJK) fall back to Droid Sans Fallback, loaded
only when a letter needs it. Wording and colours come from
`resources/templates/letter.json` (see `letters.wording`).

Every table is exactly as wide as the frame's text column (`_CONTENT_WIDTH`: the page
less the side margins and the frame's own 6-point padding), so nothing sticks out of
the column the paragraphs set.
"""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.fonts import addMapping
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from desktop_app import APP_NAME, __version__
from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.domain.types import LetterKind, Severity
from desktop_app.infra.resources import resource_path
from desktop_app.letters.content import DEMO_MARK, LetterContent, long_date
from desktop_app.letters.results import RenderedLetter, SignatureBox
from desktop_app.letters.wording import DECIDED_KINDS
from desktop_app.letters.wording import template as _template

SANS, SANS_BOLD, MONO, FALLBACK = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono", "DroidSansFallback"
_FONT_FILES = {
    SANS: "fonts/DejaVuSans.ttf",
    SANS_BOLD: "fonts/DejaVuSans-Bold.ttf",
    MONO: "fonts/DejaVuSansMono.ttf",
    FALLBACK: "fonts/DroidSansFallbackFull.ttf",
}
_PAGE_WIDTH, _PAGE_HEIGHT = 612.0, 792.0  # US Letter
_SIDE_MARGIN = 66.0
_FRAME_PADDING = 6.0  # platypus' Frame default, on each side
_TEXT_LEFT = _SIDE_MARGIN + _FRAME_PADDING
_CONTENT_WIDTH = _PAGE_WIDTH - 2 * _TEXT_LEFT
#: the appendix never leaves fewer rows than this alone on a page
_MIN_ROWS_ON_A_PAGE = 4
_SIGNATURE_SIZE = (252.0, 84.0)
#: the signed code of an RSA-3072 signer is ~89 modules: 140 pt gives each ~3 pixels in a 150-dpi scan
_QR_SIZE = 140.0


def render(content: LetterContent, qr_code: str | None = None) -> RenderedLetter:
    _register_fonts()
    template = _template()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=(_PAGE_WIDTH, _PAGE_HEIGHT),
        leftMargin=_SIDE_MARGIN,
        rightMargin=_SIDE_MARGIN,
        topMargin=64,
        bottomMargin=72,
        title=f"{content.number} — {content.wording.title}",
        author=content.agency_name,
        subject=content.subject,
        # the audit head in the signed metadata too, where `verify` reads it (see services.audit_anchor)
        keywords=f"{content.qr_payload} audit-head:{content.audit_head}",
        creator=f"{APP_NAME} {__version__}",
    )
    signature_space = _SignatureSpace(*_SIGNATURE_SIZE)
    story = list(_story(content, template, signature_space, qr_code or content.qr_payload))
    page_count: list[int] = []
    canvasmaker = functools.partial(_DecoratedCanvas, decorate=_decorations(content), pages_out=page_count)
    doc.build(story, canvasmaker=canvasmaker)
    if signature_space.placed is None:  # platypus drops a flowable only if it fits no page
        raise RuntimeError("the signature area was not placed")
    return RenderedLetter(content.number, buffer.getvalue(), page_count[0], signature_space.placed, content.signatory)


# ---------------------------------------------------------------- fonts and text


@functools.cache
def _register_fonts() -> None:
    for name in (SANS, SANS_BOLD, MONO):
        pdfmetrics.registerFont(TTFont(name, str(resource_path(_FONT_FILES[name]))))
    # DejaVu has no italic shipped: italic maps to the upright faces
    for bold, italic in ((0, 0), (0, 1), (1, 0), (1, 1)):
        addMapping(SANS, bold, italic, SANS_BOLD if bold else SANS)


@functools.cache
def _register_fallback() -> None:
    """CJK names need a second font; it is large, so only letters that need it load it."""
    pdfmetrics.registerFont(TTFont(FALLBACK, str(resource_path(_FONT_FILES[FALLBACK]))))


@functools.cache
def _covered_by_sans() -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(SANS).face.charToGlyph)


def markup(text: str) -> str:
    """Escaped paragraph markup, with characters DejaVu lacks (CJK) set in the fallback font."""
    covered = _covered_by_sans()
    pieces: list[str] = []
    run: list[str] = []
    in_fallback = False
    for char in text:
        needs_fallback = ord(char) not in covered and not char.isspace()
        if needs_fallback != in_fallback and run:
            pieces.append(_run_markup("".join(run), in_fallback))
            run = []
        in_fallback = needs_fallback
        run.append(char)
    if run:
        pieces.append(_run_markup("".join(run), in_fallback))
    return "".join(pieces)


def _run_markup(run: str, fallback: bool) -> str:
    if not fallback:
        return escape(run)
    _register_fallback()
    return f'<font name="{FALLBACK}">{escape(run)}</font>'


# ---------------------------------------------------------------- styles


@functools.cache
def _styles() -> dict[str, Any]:
    colours = _template()["colours"]
    accent, muted = colors.HexColor(colours["accent"]), colors.HexColor(colours["muted"])
    body = ParagraphStyle("body", fontName=SANS, fontSize=9.6, leading=13.4, spaceAfter=6)
    return {
        "body": body,
        "flush": ParagraphStyle("flush", body, spaceAfter=0),
        "lead": ParagraphStyle("lead", body, fontName=SANS_BOLD, spaceAfter=3, keepWithNext=1),
        "agency": ParagraphStyle("agency", body, fontName=SANS_BOLD, fontSize=15, leading=19, textColor=accent,
                                 spaceAfter=1),
        "address": ParagraphStyle("address", body, fontSize=8.6, leading=11, textColor=muted, spaceAfter=0),
        "title": ParagraphStyle(
            "title",
            body,
            fontName=SANS_BOLD,
            fontSize=11,
            leading=14,
            alignment=TA_CENTER,
            textColor=accent,
            spaceBefore=10,
            spaceAfter=14,
        ),
        "heading": ParagraphStyle(
            "heading",
            body,
            fontName=SANS_BOLD,
            fontSize=10.2,
            leading=13,
            textColor=accent,
            spaceBefore=8,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "label": ParagraphStyle(
            "label", body, fontName=SANS_BOLD, fontSize=8.6, leading=11, spaceAfter=0, textColor=muted
        ),
        "label_right": ParagraphStyle(
            "label_right",
            body,
            fontName=SANS_BOLD,
            fontSize=8.6,
            leading=11,
            spaceAfter=0,
            textColor=muted,
            alignment=TA_RIGHT,
        ),
        "cell": ParagraphStyle("cell", body, fontSize=8.6, leading=11, spaceAfter=0),
        "cell_bold": ParagraphStyle("cell_bold", body, fontName=SANS_BOLD, fontSize=8.6, leading=11, spaceAfter=0),
        "cell_right": ParagraphStyle("cell_right", body, fontSize=8.6, leading=11, spaceAfter=0, alignment=TA_RIGHT),
        "hash": ParagraphStyle("hash", body, fontName=MONO, fontSize=7.4, leading=9.6, spaceAfter=0),
        "item": ParagraphStyle("item", body, leftIndent=18, bulletIndent=2, bulletFontName=SANS_BOLD, spaceAfter=4),
        "small": ParagraphStyle("small", body, fontSize=8.2, leading=11, textColor=muted),
        "outcome": ParagraphStyle(
            "outcome", body, fontName=SANS_BOLD, fontSize=11.5, leading=15, textColor=accent, spaceAfter=3
        ),
        "signer": ParagraphStyle("signer", body, fontName=SANS_BOLD, fontSize=10.4, leading=14, spaceAfter=0),
        "header": ParagraphStyle("header", body, fontSize=7.8, leading=10, textColor=muted, spaceAfter=0),
    }


def _colour(name: str) -> Any:
    return colors.HexColor(_template()["colours"][name])


# ---------------------------------------------------------------- the story


def _story(content: LetterContent, template: dict[str, Any], signature_space: Flowable,
           qr_code: str) -> Iterator[Flowable]:
    styles = _styles()
    kind, row = content.kind, content.wording
    yield _letterhead(content)
    yield Paragraph(markup(row.title), styles["title"])
    yield _addressee_and_reference(content)
    yield Paragraph(f"<b>Subject:</b> {markup(content.subject)}", styles["body"])
    yield Paragraph(f"To {markup(content.addressee.developer)}:", styles["body"])
    opening = content.text(row.opening)
    if content.refers_to is not None and "{refers_to}" not in row.opening:
        opening += " " + content.text(template["supersedes_note"])
    yield Paragraph(markup(opening), styles["body"])
    sections = itertools.count(1)

    def heading(title: str) -> Flowable:
        return Paragraph(f"{next(sections)}. {markup(title)}", styles["heading"])

    yield heading("Model identified")
    yield from _model_identity(content, template)
    if kind is LetterKind.CORRECTED:
        yield heading(row.body_heading)
        yield from _numbered(content.body)
    if kind in DECIDED_KINDS:
        yield heading("Outcome of the evaluation")
        yield _outcome_box(content)
        if content.reasons:
            yield Paragraph(markup(template["reasons_heading"]), styles["lead"])
            for paragraph in content.reasons:
                yield Paragraph(markup(paragraph), styles["body"])
        if content.conditions:
            yield Paragraph(markup(template["conditions_lead"]), styles["lead"])
            yield from _numbered(content.conditions)
    else:
        yield heading(row.body_heading)
        yield from _numbered(content.body)
    if kind is LetterKind.INFORMATION_REQUEST:
        yield heading("Review clock")
    else:
        yield heading("Review period")
    yield _review_period(content)
    if kind in DECIDED_KINDS:  # only an evaluation's outcome summarises findings; notices carry none
        yield heading("Findings summary")
        yield _findings_summary(content)
        if content.findings:
            yield Paragraph(markup(template["appendix_note"]), styles["body"])
    yield heading("Important notice")
    yield Paragraph(markup(content.text(row.notice)), styles["body"])
    if content.disclaimer.strip():
        yield Paragraph(markup(content.disclaimer), styles["body"])
    yield Paragraph(markup(content.text(row.closing)), styles["body"])
    yield KeepTogether(
        [Spacer(1, 6), _signature_block(content, signature_space, qr_code), *_verification_lines(content, template)]
    )
    if content.findings:
        yield PageBreak()
        yield from _appendix(content)


def _letterhead(content: LetterContent) -> Flowable:
    styles = _styles()
    lines = [Paragraph(markup(content.agency_name), styles["agency"])]
    lines += [Paragraph(markup(line), styles["address"]) for line in content.agency_address]
    name: Any = lines if len(lines) > 1 else lines[0]
    if isinstance(content.agency_logo, bytes):
        logo = Image(_checked_image(content.agency_logo), width=54, height=54, kind="proportional")
        table = Table([[logo, name]], colWidths=[66, _CONTENT_WIDTH - 66])
    else:
        table = Table([[name]], colWidths=[_CONTENT_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
                ("LINEBELOW", (0, 0), (-1, 0), 2, _colour("accent")),
            ]
        )
    )
    return table


def _checked_image(data: bytes) -> io.BytesIO:
    """The logo as a stream reportlab reads lazily, checked now so a bad file is named, not a traceback."""
    try:
        ImageReader(io.BytesIO(data)).getSize()
    except Exception as error:  # PIL raises several types for an unreadable image
        raise InputRejected(
            Problem("the agency logo is not a readable PNG or JPEG image", field="agency_logo")
        ) from error
    return io.BytesIO(data)


def _reference_block(content: LetterContent) -> Flowable:
    styles = _styles()
    rows = [
        ("Letter number", content.number),
        ("Date", _long_date(content.issued_on)),
        ("Handling", content.handling_marking),
    ]
    if content.refers_to is not None:
        rows.append((_REFERENCE_LABELS.get(content.kind, "Supersedes"), content.refers_to.number))
    data = [[Paragraph(label, styles["label"]), Paragraph(markup(value), styles["cell_bold"])] for label, value in rows]
    table = Table(data, colWidths=_SIDE_BLOCK_COLUMNS, hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


_REFERENCE_LABELS = {LetterKind.REVOCATION: "Revokes", LetterKind.CONDITIONS_MET: "Conditions of"}
_SIDE_BLOCK_COLUMNS = [78, 150]


def _designation_block(content: LetterContent) -> Flowable:
    """The CUI designation indicator on the first page: controlled by, category, point of contact."""
    styles = _styles()
    designation = content.designation
    assert designation is not None
    rows = [
        ("Controlled by", designation.controlled_by),
        ("CUI category", designation.category),
        ("POC", designation.point_of_contact),
    ]
    data = [[Paragraph(label, styles["label"]), Paragraph(markup(value), styles["cell"])] for label, value in rows]
    table = Table(data, colWidths=_SIDE_BLOCK_COLUMNS, hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, _colour("rule")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _addressee_and_reference(content: LetterContent) -> Flowable:
    """The addressee on the left; the letter's number, date, handling and CUI designation on the right."""
    side = sum(_SIDE_BLOCK_COLUMNS)
    right: list[Flowable] = [_reference_block(content)]
    if content.designation is not None:
        right += [Spacer(1, 4), _designation_block(content)]
    table = Table([[list(_addressee(content)), right]], colWidths=[_CONTENT_WIDTH - side, side])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    return table


def _addressee(content: LetterContent) -> Iterator[Flowable]:
    """The developer, then the contact as an attention line (a contact is often an office, not a person)."""
    addressee = content.addressee
    style = _styles()["flush"]
    yield Paragraph(f"<b>{markup(addressee.developer)}</b>", style)
    if addressee.contact_name.strip():
        yield Paragraph(f"Attention: {markup(addressee.contact_name)}", style)
    for line in addressee.address_lines:
        yield Paragraph(markup(line), style)


def _model_identity(content: LetterContent, template: dict[str, Any]) -> Iterator[Flowable]:
    styles = _styles()
    model = content.model
    rows = [
        ("Model", Paragraph(markup(model.name), styles["cell_bold"])),
        ("Version", Paragraph(markup(model.version), styles["cell"])),
    ]
    if model.package_id:
        rows.append(("Package ID", Paragraph(markup(model.package_id), styles["cell"])))
    if model.registered_on is None:
        rows.append(("Manifest SHA-256", Paragraph(model.manifest_sha256, styles["hash"])))
    else:
        rows.append(("Registered by hand", Paragraph(_long_date(model.registered_on), styles["cell"])))
    table = Table(
        [[Paragraph(label, styles["label"]), value] for label, value in rows], colWidths=[104, _CONTENT_WIDTH - 104]
    )
    table.setStyle(_grid_style(header=False))
    yield table
    if model.registered_on is not None:
        yield Spacer(1, 4)
        note = template["registration_note"].format(registered_on=_long_date(model.registered_on))
        yield Paragraph(markup(note), styles["small"])
    if model.artifacts:
        yield Spacer(1, 6)
        yield _artifact_table(content)


def _artifact_table(content: LetterContent) -> Flowable:
    """One row per artifact, its SHA-256 on a full-width row beneath so the hash never wraps."""
    styles = _styles()
    header = [
        Paragraph("Artifact", styles["label"]),
        Paragraph("Kind", styles["label"]),
        Paragraph("Size (bytes)", styles["label_right"]),
    ]
    rows: list[list[Any]] = [header]
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, _colour("accent")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.4, _colour("rule")),
        ("BACKGROUND", (0, 0), (-1, 0), _colour("shade")),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
    for artifact in content.model.artifacts:
        rows.append(
            [
                Paragraph(markup(artifact.path), styles["cell"]),
                Paragraph(markup(artifact.kind), styles["cell"]),
                Paragraph(f"{artifact.size_bytes:,}", styles["cell_right"]),
            ]
        )
        rows.append([Paragraph(f"SHA-256&nbsp;&nbsp;{artifact.sha256}", styles["hash"]), "", ""])
        hash_row = len(rows) - 1
        commands += [
            ("SPAN", (0, hash_row), (-1, hash_row)),
            ("BOTTOMPADDING", (0, hash_row), (-1, hash_row), 5),
            ("LINEBELOW", (0, hash_row), (-1, hash_row), 0.4, _colour("rule")),
        ]
    table = Table(rows, colWidths=[_CONTENT_WIDTH - 200, 110, 90], repeatRows=1)
    table.setStyle(TableStyle(commands))
    return table


def _outcome_box(content: LetterContent) -> Flowable:
    styles = _styles()
    assert content.decision is not None  # checked by LetterContent
    cells = [
        [Paragraph(f"Outcome: {content.decision.label.upper()}", styles["outcome"])],
        [Paragraph(markup(content.text(content.wording.outcome)), styles["flush"])],
    ]
    table = Table(cells, colWidths=[_CONTENT_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _colour("shade")),
                ("LINEBEFORE", (0, 0), (0, -1), 3, _colour("accent")),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
                ("TOPPADDING", (0, 0), (-1, 0), 7),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
            ]
        )
    )
    table.spaceAfter = 6
    return table


def _numbered(items: tuple[str, ...]) -> Iterator[Flowable]:
    style = _styles()["item"]
    for index, item in enumerate(items, start=1):
        yield Paragraph(markup(item), style, bulletText=f"{index}.")


def _review_period(content: LetterContent) -> Flowable:
    styles = _styles()
    period = content.review_period
    if content.paused_on is not None and content.respond_by is not None:
        rows = [
            ("Submission received", _long_date(period.received_on)),
            ("Review clock paused", f"{_long_date(content.paused_on)}, when the request was recorded"),
            ("Response due by", _long_date(content.respond_by)),
        ]
    else:
        rows = [
            ("Submission received", _long_date(period.received_on)),
            (f"{content.wording.date_label} date", _long_date(period.decided_on)),
            ("Elapsed", f"{period.days} calendar day{'s' if period.days != 1 else ''}"),
        ]
    table = Table(
        [[Paragraph(label, styles["label"]), Paragraph(value, styles["cell"])] for label, value in rows],
        colWidths=[134, _CONTENT_WIDTH - 134],
    )
    table.setStyle(_grid_style(header=False))
    return table


def _findings_summary(content: LetterContent) -> Flowable:
    styles = _styles()
    counts = content.findings_summary
    header = [Paragraph(severity.value, styles["label"]) for severity in Severity] + [
        Paragraph("Total", styles["label"])
    ]
    values = [Paragraph(str(counts[severity]), styles["cell"]) for severity in Severity]
    values.append(Paragraph(f"<b>{sum(counts.values())}</b>", styles["cell"]))
    table = Table([header, values], colWidths=[_CONTENT_WIDTH / 6] * 6)
    table.setStyle(_grid_style(header=True))
    table.spaceAfter = 6
    return table


def _signature_block(content: LetterContent, signature_space: Flowable, qr_code: str) -> Flowable:
    styles = _styles()
    signatory = content.signatory
    signed = [
        Paragraph(f"For the {markup(content.agency_name)},", styles["cell"]),
        signature_space,
        Spacer(1, 5),
        Paragraph(markup(signatory.name), styles["signer"]),
        Paragraph(markup(signatory.title), styles["cell"]),
        Paragraph(f"Signed: {signatory.signed_at:%Y-%m-%d %H:%M:%S} UTC", styles["cell"]),
        Paragraph(f"Meaning of signature: {markup(signatory.meaning)}", styles["cell"]),
    ]
    # reportlab's QR flowable draws straight on the canvas: a third of the widget's time, same code
    qr = QrCode(qr_code, qrLevel="M", width=_QR_SIZE, height=_QR_SIZE)
    table = Table([[signed, qr]], colWidths=[_CONTENT_WIDTH - _QR_SIZE - 16, _QR_SIZE + 16])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (-1, 0), (-1, 0), 0),
                ("ALIGN", (-1, 0), (-1, 0), "RIGHT"),
            ]
        )
    )
    return table


def _verification_lines(content: LetterContent, template: dict[str, Any]) -> Iterator[Flowable]:
    styles = _styles()
    yield Spacer(1, 6)
    rows = [
        ("Audit-chain head at issuance", content.audit_head),
        ("Letter data SHA-256", content.data_digest()),
    ]
    table = Table(
        [[Paragraph(label, styles["label"]), Paragraph(value, styles["hash"])] for label, value in rows],
        colWidths=[156, _CONTENT_WIDTH - 156],
    )
    table.setStyle(_grid_style(header=False))
    yield table
    yield Spacer(1, 4)
    yield Paragraph(markup(template["verification_note"]), styles["small"])


def _appendix(content: LetterContent) -> Iterator[Flowable]:
    styles = _styles()
    yield Paragraph(f"Appendix A — Findings ({len(content.findings)})", styles["heading"])
    header = [Paragraph(text, styles["label"]) for text in ("No.", "Title", "Category", "Severity", "Status")]
    rows = [
        [
            Paragraph(markup(finding.number), styles["cell_bold"]),
            Paragraph(markup(finding.title), styles["cell"]),
            Paragraph(markup(finding.category), styles["cell"]),
            Paragraph(finding.severity.value, styles["cell"]),
            Paragraph(finding.status.value, styles["cell"]),
        ]
        for finding in content.findings
    ]
    table = _AppendixTable([header, *rows], colWidths=[40, _CONTENT_WIDTH - 304, 116, 76, 72], repeatRows=1)
    table.setStyle(_grid_style(header=True, zebra=True))
    yield table


class _AppendixTable(Table):  # type: ignore[misc]
    """A long table that never leaves a page with only a row or two of its tail.

    When a split would carry fewer than `_MIN_ROWS_ON_A_PAGE` rows over, it splits
    earlier, so the last page holds a readable block, not one orphaned row.
    """

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        self._calc(available_width, available_height)
        heights = list(self._rowHeights)
        fitting, used = 0, 0.0
        for height in heights:
            if used + height > available_height:
                break
            used, fitting = used + height, fitting + 1
        carried = len(heights) - fitting
        if 0 < carried < _MIN_ROWS_ON_A_PAGE:
            keep = len(heights) - _MIN_ROWS_ON_A_PAGE
            if keep <= self.repeatRows + 1:
                return []
            available_height = sum(heights[:keep]) + 0.01
        parts: list[Flowable] = super().split(available_width, available_height)
        for part in parts:
            part.__class__ = _AppendixTable
        return parts


def _grid_style(*, header: bool, zebra: bool = False) -> Any:
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, _colour("rule")),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, _colour("accent")),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), _colour("shade")))
    if zebra:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, _colour("shade")]))
    return TableStyle(commands)


def _long_date(day: date) -> str:
    return long_date(day)


# ---------------------------------------------------------------- page furniture


class _SignatureSpace(Flowable):  # type: ignore[misc]
    """Blank space in the flow that remembers where it was drawn, for the visible signature."""

    def __init__(self, width: float, height: float) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.placed: SignatureBox | None = None

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        x, y = self.canv.absolutePosition(0, 0)
        page_index = self.canv.getPageNumber() - 1
        left, bottom = round(x), round(y)  # whole points: pyHanko places fields on an integer grid
        self.placed = SignatureBox(page_index, left, bottom, left + round(self.width), bottom + round(self.height))


class _DecoratedCanvas(Canvas):  # type: ignore[misc]
    """A canvas that draws banners, numbers and "Page x of y" once the page count is known."""

    def __init__(
        self, *args: Any, decorate: Callable[[Canvas, int, int], None], pages_out: list[int], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._decorate, self._pages_out = decorate, pages_out
        self._page_states: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._page_states.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._page_states)
        self._pages_out.append(total)
        for state in self._page_states:
            self.__dict__.update(state)
            self._decorate(self, self._pageNumber, total)
            super().showPage()
        super().save()


def _decorations(content: LetterContent) -> Callable[[Canvas, int, int], None]:
    def decorate(canvas: Canvas, page: int, total: int) -> None:
        canvas.saveState()
        if content.demo:
            _draw_demo(canvas)
        _draw_banners(canvas, content.handling_marking, demo=content.demo)
        if page > 1:
            _draw_running_header(canvas, content)
        _draw_footer(canvas, content.number, page, total)
        canvas.restoreState()

    return decorate


def _draw_banners(canvas: Canvas, marking: str, *, demo: bool) -> None:
    canvas.setFont(SANS_BOLD, 10.5)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawCentredString(_PAGE_WIDTH / 2, _PAGE_HEIGHT - 24, marking)
    canvas.drawCentredString(_PAGE_WIDTH / 2, 18, marking)
    if demo:
        canvas.setFont(SANS_BOLD, 8.5)
        canvas.setFillColor(_colour("demo"))
        canvas.drawCentredString(_PAGE_WIDTH / 2, _PAGE_HEIGHT - 37, DEMO_MARK)
        canvas.drawCentredString(_PAGE_WIDTH / 2, 31, DEMO_MARK)


def _draw_demo(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setFillColor(_colour("demo"))
    canvas.setFillAlpha(0.07)
    canvas.translate(_PAGE_WIDTH / 2, _PAGE_HEIGHT / 2)
    canvas.rotate(35)
    canvas.setFont(SANS_BOLD, 150)
    canvas.drawCentredString(0, -50, "DEMO")
    canvas.restoreState()


def _draw_running_header(canvas: Canvas, content: LetterContent) -> None:
    styles = _styles()
    y = _PAGE_HEIGHT - 52
    left = Paragraph(markup(content.agency_name), styles["header"])
    left.wrapOn(canvas, _CONTENT_WIDTH - 150, 12)
    left.drawOn(canvas, _TEXT_LEFT, y)
    canvas.setFont(SANS, 7.8)
    canvas.setFillColor(_colour("muted"))
    canvas.drawRightString(_PAGE_WIDTH - _TEXT_LEFT, y + 2.5, f"Letter {content.number}")
    canvas.setStrokeColor(_colour("rule"))
    canvas.setLineWidth(0.5)
    canvas.line(_TEXT_LEFT, y - 4, _PAGE_WIDTH - _TEXT_LEFT, y - 4)


def _draw_footer(canvas: Canvas, number: str, page: int, total: int) -> None:
    y = 50
    canvas.setStrokeColor(_colour("rule"))
    canvas.setLineWidth(0.5)
    canvas.line(_TEXT_LEFT, y + 10, _PAGE_WIDTH - _TEXT_LEFT, y + 10)
    canvas.setFont(SANS, 8)
    canvas.setFillColor(_colour("muted"))
    canvas.drawString(_TEXT_LEFT, y, f"Letter {number}")
    canvas.drawRightString(_PAGE_WIDTH - _TEXT_LEFT, y, f"Page {page} of {total}")
