"""The periodic report and the review record as PDF (reportlab), charts included.

Same fonts, colours and page furniture as the letters (`_layout`): the handling marking
is drawn at the top and bottom of every page, with the DEMO mark when the data folder
is a demo. Charts are reportlab graphics drawn from the same `Figures` the dashboard
shows; every chart carries its numbers as labels or in a table beside it, so nothing
depends on colour alone. Input is plain data from `report_data`: no database here.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from desktop_app import APP_NAME, __version__
from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.letters._layout import (
    MONO,
    SANS,
    SANS_BOLD,
    _DecoratedCanvas,
    _register_fonts,
    _styles,
    markup,
)
from desktop_app.letters.content import DEMO_MARK
from desktop_app.letters.markdown_text import markdown_blocks
from desktop_app.letters.report_data import (
    SEVERITIES,
    Figures,
    PeriodicReport,
    Provenance,
    RecordComparison,
    RecordEvent,
    RecordRecommendation,
    RecordStatement,
    ReviewRecord,
    long_date,
)

PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0  # US Letter
SIDE = 54.0
#: The frame's usable width (platypus frames pad 6 pt a side): tables and charts line up with the text.
WIDTH = PAGE_WIDTH - 2 * SIDE - 12

ACCENT = colors.HexColor("#1f3864")
RULE = colors.HexColor("#8c96a8")
SHADE = colors.HexColor("#eef1f6")
MUTED = colors.HexColor("#4a4f59")
DEMO_RED = colors.HexColor("#b3261e")
#: Worst to least severe; dark-to-light as well as hue, so a grey-scale print still orders them.
SEVERITY_COLOURS = (colors.HexColor("#6d1a1a"), colors.HexColor("#c2410c"), colors.HexColor("#e0a526"),
                    colors.HexColor("#4f7cc4"), colors.HexColor("#b9c2cf"))
OVERDUE_COLOUR, ON_TIME_COLOUR = colors.HexColor("#b3261e"), colors.HexColor("#1f3864")
BAR_COLOUR = colors.HexColor("#2f5597")


# -- shared page set-up -------------------------------------------------------------------


@functools.cache
def _extra_styles() -> dict[str, ParagraphStyle]:
    base = _styles()
    return {
        "report_title": ParagraphStyle("report_title", base["agency"], fontSize=17, leading=21, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", base["body"], fontName=SANS_BOLD, fontSize=11.5, leading=15,
                                   textColor=MUTED, spaceAfter=2),
        "h1": ParagraphStyle("h1", base["heading"], fontSize=12, leading=15, spaceBefore=12, spaceAfter=5),
        "h2": ParagraphStyle("h2", base["heading"], fontSize=10, leading=13, spaceBefore=8, spaceAfter=3),
        "tile_value": ParagraphStyle("tile_value", base["body"], fontName=SANS_BOLD, fontSize=16, leading=19,
                                     textColor=ACCENT, spaceAfter=0),
        "tile_label": ParagraphStyle("tile_label", base["label"], fontSize=7.8, leading=9.6),
        "mono": ParagraphStyle("mono", base["hash"], fontSize=6.9, leading=8.6),
        "cell_small": ParagraphStyle("cell_small", base["cell"], fontSize=7.8, leading=9.6),
    }


def _build(story: list[Flowable], *, title: str, subject: str, provenance: Provenance, running: str) -> bytes:
    _register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), leftMargin=SIDE, rightMargin=SIDE,
                            topMargin=70, bottomMargin=72, title=title, author=provenance.agency_name,
                            subject=subject, creator=f"{APP_NAME} {__version__}")
    pages: list[int] = []
    canvasmaker = functools.partial(_DecoratedCanvas, decorate=_decorations(provenance, running), pages_out=pages)
    doc.build(story, canvasmaker=canvasmaker)
    return buffer.getvalue()


def _decorations(provenance: Provenance, running: str) -> Callable[[Canvas, int, int], None]:
    generated = f"Generated {provenance.generated_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC by {provenance.generated_by}"

    def decorate(canvas: Canvas, page: int, total: int) -> None:
        canvas.saveState()
        canvas.setFont(SANS_BOLD, 10.5)
        canvas.setFillColorRGB(0, 0, 0)
        canvas.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 24, provenance.handling_marking)
        canvas.drawCentredString(PAGE_WIDTH / 2, 18, provenance.handling_marking)
        if provenance.demo:
            canvas.setFont(SANS_BOLD, 8.5)
            canvas.setFillColor(DEMO_RED)
            canvas.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 37, DEMO_MARK)
            canvas.drawCentredString(PAGE_WIDTH / 2, 31, DEMO_MARK)
        canvas.setFont(SANS, 7.8)
        canvas.setFillColor(MUTED)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        if page > 1:
            y = PAGE_HEIGHT - 54
            canvas.drawString(SIDE, y, _fit(provenance.agency_name, 60))
            canvas.drawRightString(PAGE_WIDTH - SIDE, y, running)
            canvas.line(SIDE, y - 4, PAGE_WIDTH - SIDE, y - 4)
        y = 50
        canvas.line(SIDE, y + 10, PAGE_WIDTH - SIDE, y + 10)
        canvas.drawString(SIDE, y, generated)
        canvas.drawRightString(PAGE_WIDTH - SIDE, y, f"Page {page} of {total}")
        canvas.restoreState()

    return decorate


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _p(text: str, style: str = "cell", *, raw: str = "") -> Paragraph:
    """A paragraph of plain `text` (escaped), followed by `raw` markup the caller built."""
    styles = {**_styles(), **_extra_styles()}
    return Paragraph(markup(text) + raw, styles[style])


def _bold(text: str, style: str = "cell") -> Paragraph:
    return _p("", style, raw=f"<b>{markup(text)}</b>")


def _grid(header: bool = True, zebra: bool = False) -> list[tuple[Any, ...]]:
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, ACCENT),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    if zebra:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, SHADE]))
    return commands


def _table(rows: list[list[Any]], widths: Sequence[float], *, header: bool = True, zebra: bool = False,
           extra: Sequence[tuple[Any, ...]] = ()) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=1 if header else 0)
    table.setStyle(TableStyle([*_grid(header, zebra), *extra]))
    return table


def _key_values(pairs: Sequence[tuple[str, str | list[Flowable]]], *, label_width: float = 130,
                mono: Sequence[str] = ()) -> Table:
    """Label and value rows; a value is plain text, or flowables already built (a Markdown description)."""
    rows = [[_p(label, "label"), value if isinstance(value, list) else _p(value, "mono" if label in mono else "cell")]
            for label, value in pairs]
    return _table(rows, [label_width, WIDTH - label_width], header=False)


@functools.cache
def _markdown_styles() -> dict[str, ParagraphStyle]:
    cell = _styles()["cell"]
    return {
        "heading": ParagraphStyle("md_heading", cell, fontName=SANS_BOLD, spaceBefore=3, spaceAfter=1),
        "paragraph": ParagraphStyle("md_paragraph", cell, spaceAfter=3),
        "bullet": ParagraphStyle("md_bullet", cell, leftIndent=11, bulletIndent=2, spaceAfter=1),
        "numbered": ParagraphStyle("md_numbered", cell, leftIndent=11, firstLineIndent=-9, spaceAfter=1),
        "quote": ParagraphStyle("md_quote", cell, leftIndent=10, textColor=MUTED, spaceAfter=3),
        "code": ParagraphStyle("md_code", cell, fontName=MONO, fontSize=7.4, leading=9.2, leftIndent=6,
                               backColor=SHADE, borderPadding=2, spaceBefore=2, spaceAfter=4),
        "row": ParagraphStyle("md_row", cell, spaceAfter=1),
    }


def markdown_flowables(text: str) -> list[Flowable]:
    """A finding's Markdown description as readable paragraphs: no `**`, `#` or backticks on paper."""
    styles = _markdown_styles()
    flowables: list[Flowable] = []
    for block in markdown_blocks(text, markup, MONO):
        style = styles[block.kind]
        if block.depth:
            style = ParagraphStyle(f"{style.name}_{block.depth}", style, leftIndent=style.leftIndent + 10 * block.depth,
                                   bulletIndent=style.bulletIndent + 10 * block.depth)
        bullet = {"bullet": "•"}.get(block.kind)
        flowables.append(Paragraph(block.markup, style, bulletText=bullet))
    return flowables or [_p("—")]


def _utc(moment: dt.datetime | None) -> str:
    return "—" if moment is None else f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _stamp(text: str) -> str:
    """An audit event's ISO time as 'YYYY-MM-DD HH:MM:SS UTC'."""
    try:
        return f"{dt.datetime.fromisoformat(text).astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    except ValueError:
        return text


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# -- charts -----------------------------------------------------------------------------------


def _caption(drawing: Drawing, text: str) -> None:
    drawing.add(String(0, drawing.height - 11, text, fontName=SANS_BOLD, fontSize=9, fillColor=ACCENT))


def horizontal_bars(title: str, labels: Sequence[str], series: Sequence[Sequence[int]],
                    fills: Sequence[Any], *, names: Sequence[str] = (), width: float = WIDTH,
                    label_width: float = 150) -> Drawing:
    """Bars (stacked when several series) with each bar's total written at its end.

    Category labels are measured, not counted: one too wide for the label column wraps
    onto a second line (the bars grow to hold it), so no label is cut or runs off the page.
    """
    rows = max(1, len(labels))
    shown = [wrap_label(label, label_width - LABEL_GAP) for label in labels]
    two_lines = any("\n" in label for label in shown)
    bar_height = 20 if two_lines else 15 if rows <= 12 else 11
    legend_height = 18 if names else 0
    height = 22 + rows * bar_height + 16 + legend_height
    drawing = Drawing(width, height)
    _caption(drawing, title)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 16 + legend_height
    chart.width, chart.height = width - label_width - 40, rows * bar_height
    data = [list(reversed(s)) or [0] for s in series]  # the first label at the top
    chart.data = data
    chart.categoryAxis.categoryNames = list(reversed(shown)) or [""]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = LABEL_SIZE
    chart.categoryAxis.labels.leading = LABEL_SIZE + 1.4
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.textAnchor = "end"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.strokeColor = RULE
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = _thousands
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.valueMin = 0
    totals = [sum(column) for column in zip(*data, strict=True)]
    chart.valueAxis.valueMax = _nice_max(max(totals, default=0))
    chart.valueAxis.valueStep = _nice_step(chart.valueAxis.valueMax)
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#d7dce5")
    chart.valueAxis.gridStrokeWidth = 0.4
    chart.barSpacing = 0
    chart.groupSpacing = 3
    chart.bars.strokeColor = None
    for index, fill in enumerate(fills):
        chart.bars[index].fillColor = fill
    if len(series) > 1:
        chart.categoryAxis.style = "stacked"
    drawing.add(chart)
    step = chart.height / rows
    for row, total in enumerate(totals):
        x = chart.x + chart.width * (total / chart.valueAxis.valueMax if chart.valueAxis.valueMax else 0) + 3
        y = chart.y + step * row + step / 2 - 2.6
        drawing.add(String(x, y, f"{total:,}", fontName=SANS_BOLD, fontSize=7.4, fillColor=colors.black))
    if names:
        drawing.add(_legend(names, fills, x=8, y=6, width=width - 8))
    return drawing


#: a category label's font size, and the space between the label and its bar
LABEL_SIZE, LABEL_GAP = 7.6, 6.0


def wrap_label(label: str, width: float, *, lines: int = 2) -> str:
    """`label` in at most `lines` lines of at most `width` points (words kept whole); "…" only if it cannot fit."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    def fits(text: str) -> bool:
        return stringWidth(text, SANS, LABEL_SIZE) <= width

    if fits(label):
        return label
    result: list[str] = []
    words = label.split()
    while words and len(result) < lines:
        line = words.pop(0)
        while words and fits(f"{line} {words[0]}"):
            line = f"{line} {words.pop(0)}"
        result.append(line)
    if words or not fits(result[-1]):  # what is left goes on the last line, shortened to fit
        last = " ".join([result[-1], *words])
        while last and not fits(last + "…"):
            last = last[:-1].rstrip()
        result[-1] = last + "…"
    return "\n".join(result)


def vertical_bars(title: str, labels: Sequence[str], values: Sequence[int], *, width: float = WIDTH,
                  height: float = 170) -> Drawing:
    drawing = Drawing(width, height)
    _caption(drawing, title)
    chart = VerticalBarChart()
    chart.x, chart.y = 34, 34
    chart.width, chart.height = width - 44, height - 62
    chart.data = [list(values) or [0]]
    chart.categoryAxis.categoryNames = list(labels) or [""]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 6.8
    many = len(labels) > 14
    chart.categoryAxis.labels.angle = 45 if many else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if many else "n"
    chart.categoryAxis.labels.dy = -2
    chart.categoryAxis.strokeColor = RULE
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = _thousands
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = _nice_max(max(values, default=0))
    chart.valueAxis.valueStep = _nice_step(chart.valueAxis.valueMax)
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#d7dce5")
    chart.valueAxis.gridStrokeWidth = 0.4
    chart.valueAxis.strokeColor = RULE
    chart.bars[0].fillColor = BAR_COLOUR
    chart.bars.strokeColor = None
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = SANS
    chart.barLabels.fontSize = 6.6 if len(labels) <= 26 else 5.4
    chart.barLabels.nudge = 5
    drawing.add(chart)
    return drawing


def _legend(names: Sequence[str], fills: Sequence[Any], *, x: float, y: float, width: float) -> Legend:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = min(90, width / max(1, len(names)))
    legend.dx = legend.dy = 7
    legend.fontName = SANS
    legend.fontSize = 7.4
    legend.boxAnchor = "w"
    legend.strokeColor = None
    legend.colorNamePairs = list(zip(fills, names, strict=True))
    return legend


def _thousands(value: float) -> str:
    return f"{value:,.0f}"


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000):
        if top / step <= 6:
            return step
    return max(1, top // 5)


# -- the periodic report --------------------------------------------------------------------------


def render_periodic_report(report: PeriodicReport) -> bytes:
    _register_fonts()
    figures, provenance = report.figures, report.provenance
    story = list(_periodic_story(report))
    return _build(story, title=f"Periodic review report — {figures.period.label}",
                  subject=f"Review activity {figures.period.start} to {figures.period.end}",
                  provenance=provenance, running=f"Periodic report, {figures.period.label}")


def _title_block(provenance: Provenance, title: str, subtitle: str) -> Iterator[Flowable]:
    table = Table([[_p(provenance.agency_name, "report_title")], [_p(title, "subtitle")]], colWidths=[WIDTH])
    table.setStyle(TableStyle([("LINEBELOW", (0, -1), (-1, -1), 2, ACCENT), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, -1), (-1, -1), 6)]))
    yield table
    yield Spacer(1, 4)
    yield _p(subtitle, "small")


def _tiles(items: Sequence[tuple[str, str]], columns: int = 4) -> Table:
    cells = [[_p(value, "tile_value"), _p(label, "tile_label")] for label, value in items]
    rows = [cells[i:i + columns] for i in range(0, len(cells), columns)]
    data = [[cell for cell in row] + [""] * (columns - len(row)) for row in rows]
    table = Table(data, colWidths=[WIDTH / columns] * columns)
    table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, RULE), ("INNERGRID", (0, 0), (-1, -1), 0.6, RULE),
        ("BACKGROUND", (0, 0), (-1, -1), SHADE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ("LEFTPADDING", (0, 0), (-1, -1), 8)]))
    return table


def key_figures(figures: Figures) -> list[tuple[str, str]]:
    """The headline numbers, as (label, value) pairs: shown as tiles in the PDF and the dashboard."""
    return [
        ("Received in the period", f"{figures.received:,}"),
        ("Decided in the period (issued or refused)", f"{figures.decided:,}"),
        ("Median days to decision", _days(figures.median_days)),
        ("90th percentile days to decision", _days(figures.p90_days)),
        (f"Open on {figures.as_of:%d %b %Y}", f"{figures.open_total:,}"),
        (f"Due within {figures.due_soon_days} days (incl. overdue)", f"{figures.due_soon:,}"),
        ("Overdue", f"{figures.overdue:,}"),
        ("Open and unassigned", f"{figures.unassigned_open:,}"),
    ]


def _periodic_story(report: PeriodicReport) -> Iterator[Flowable]:
    figures, provenance = report.figures, report.provenance
    yield from _title_block(provenance, "Periodic review report",
                            f"Period: {figures.period.label} ({figures.period.days} days). Snapshot figures as of "
                            f"{long_date(figures.as_of)}; dates are agency dates ({provenance.time_zone}).")
    yield _p("Key figures", "h1")
    yield _tiles(key_figures(figures))
    yield Spacer(1, 4)
    yield _p("Days to decision run from receipt to the supervisor's approval, for submissions issued in the "
             "period; the 90th percentile is the time within which nine in ten of them were decided. "
             f"“Due within {DUE_SOON_DAYS} days” counts open submissions whose due date is at most {DUE_SOON_DAYS} "
             "days away, "
             "overdue ones included.", "small")
    yield _p("Decisions and intake", "h1")
    decisions = [c for c in figures.decisions if c.value or c.key != "UNKNOWN"]
    yield KeepTogether([horizontal_bars("Decisions in the period, by outcome", [c.label for c in decisions],
                                        [[c.value for c in decisions]], [BAR_COLOUR])])
    yield Spacer(1, 10)
    labels = [w.label for w in figures.intake]
    yield KeepTogether([vertical_bars("Submissions received per week (week starting Monday)", labels,
                                      [w.count for w in figures.intake])])
    yield CondPageBreak(240)
    yield _p("Queue as of the report date", "h1")
    yield KeepTogether([horizontal_bars("Submissions by status", [c.label for c in figures.by_status],
                                        [[c.value for c in figures.by_status]], [BAR_COLOUR])])
    yield Spacer(1, 10)
    yield from _workload(figures)
    yield from _conditions(figures)
    yield CondPageBreak(300)
    yield _p("Findings recorded in the period", "h1")
    yield from _findings(figures)
    yield from _decided_table(report)
    if report.chain_head:
        yield _p("Audit chain", "h1")
        yield _key_values([("Chain head", f"event {report.chain_seq:,}"), ("Head hash", report.chain_head),
                           ("Anchor", f"{report.chain_seq} {report.chain_head}")], mono=("Head hash", "Anchor"))
        yield _p("Kept apart from the data folder, the anchor line lets `clearance-desk audit verify --anchor FILE` "
                 "prove later that the audit trail still holds every event up to this report.", "small")


def _workload(figures: Figures) -> Iterator[Flowable]:
    loads = figures.workload
    if not loads:
        yield _p("No open submission is assigned to anyone.", "body")
        return
    yield KeepTogether([horizontal_bars(
        "Workload per reviewer: open submissions assigned", [w.name for w in loads],
        [[w.overdue for w in loads], [w.on_time for w in loads]], [OVERDUE_COLOUR, ON_TIME_COLOUR],
        names=("Overdue", "Not overdue"))])
    yield _p(f"{figures.unassigned_open:,} open submission{'s are' if figures.unassigned_open != 1 else ' is'} "
             "not assigned yet.", "small")


def _conditions(figures: Figures) -> Iterator[Flowable]:
    """Conditions of issued letters as of the report date: by status, with those due and overdue."""
    counts = figures.conditions_by_status
    if not any(c.value for c in counts):
        return
    yield Spacer(1, 10)
    yield KeepTogether([horizontal_bars("Conditions of issued letters, by status", [c.label for c in counts],
                                        [[c.value for c in counts]], [BAR_COLOUR])])
    yield _p(f"{figures.conditions_due:,} unresolved condition{'s are' if figures.conditions_due != 1 else ' is'} "
             f"due within {DUE_SOON_DAYS} days and {figures.conditions_overdue:,} "
             f"{'are' if figures.conditions_overdue != 1 else 'is'} past the due date.", "small")


def _findings(figures: Figures) -> Iterator[Flowable]:
    rows = figures.findings
    if not rows:
        yield _p("No findings were recorded in the period.", "body")
        return
    names = [s.value for s in SEVERITIES]
    yield KeepTogether([horizontal_bars(
        "Findings by category, stacked by severity", [r.label for r in rows],
        [[r.by_severity[i] for r in rows] for i in range(len(SEVERITIES))], SEVERITY_COLOURS,
        names=names, label_width=190)])
    yield Spacer(1, 6)
    header = [_p("Category", "label")] + [_p(n, "label_right") for n in names] + [_p("Total", "label_right")]
    body = [[_p(r.label, "cell_small")] + [_p(f"{n:,}", "cell_right") for n in r.by_severity]
            + [_bold(f"{r.total:,}", "cell_right")] for r in rows]
    totals = figures.findings_by_severity()
    body.append([_bold("All categories", "cell_small")] + [_bold(f"{n:,}", "cell_right") for n in totals]
                + [_bold(f"{sum(totals):,}", "cell_right")])
    widths = [52, 46, 54, 46, 84, 54]
    yield _table([header, *body], [WIDTH - sum(widths), *widths], zebra=True)
    yield _p("Withdrawn findings are not counted.", "small")


def _decided_table(report: PeriodicReport) -> Iterator[Flowable]:
    yield CondPageBreak(160)
    yield _p(f"Submissions decided in the period ({report.decided_total:,})", "h1")
    if not report.decided:
        yield _p("No submission was decided in the period.", "body")
        return
    header = [_p(t, "label") for t in ("Reference", "Developer", "Model", "Outcome", "Received", "Decided")]
    header.append(_p("Days", "label_right"))
    rows = [[_p(d.reference, "cell_small"), _p(d.developer, "cell_small"), _p(d.model, "cell_small"),
             _p(d.outcome, "cell_small"), _p(d.received_on.isoformat(), "cell_small"),
             _p(d.decided_on.isoformat(), "cell_small"), _p(f"{d.days:.1f}", "cell_right")] for d in report.decided]
    yield _table([header, *rows], [70, WIDTH - 70 - 92 - 96 - 58 - 58 - 34, 92, 96, 58, 58, 34], zebra=True)
    if len(report.decided) < report.decided_total:
        yield _p(f"The first {len(report.decided):,} of {report.decided_total:,} are listed; the CSV written with "
                 "this report lists them all.", "small")


# -- the review record ------------------------------------------------------------------------------


def render_review_record(record: ReviewRecord) -> bytes:
    _register_fonts()
    story = list(_record_story(record))
    return _build(story, title=f"Review record — {record.reference}", subject=f"{record.reference}: {record.model}",
                  provenance=record.provenance, running=f"Review record {record.reference}")


def _record_story(r: ReviewRecord) -> Iterator[Flowable]:
    yield from _title_block(r.provenance, f"Review record — {r.reference}",
                            "The submission, its artifacts, findings, decisions, letters and audit events as "
                            "recorded in Clearance Desk. Times are UTC.")
    yield _p("Submission", "h1")
    yield _key_values([
        ("Reference", r.reference), ("State", r.state), ("Developer", r.developer), ("Contact", r.contact or "—"),
        ("Model", r.model), ("Model family", r.model_family or "—"), ("Received", _utc(r.received_at)),
        ("Review window", f"{r.window_days} days; paused {r.paused_days} day{'s' if r.paused_days != 1 else ''}"),
        ("Due", r.due_date.isoformat()), ("Decided", _utc(r.decided_at)),
        ("Intended release", r.intended_release.isoformat() if r.intended_release else "—"),
        ("Assignee", r.assignee or "—"), ("Summary", r.description or "—")])
    yield _p(f"Packages ({len(r.packages)})", "h1")
    if r.packages:
        rows: list[list[Any]] = [[_p(t, "label") for t in ("Package", "Kind", "Imported", "By")]]
        extra: list[tuple[Any, ...]] = []
        for package in r.packages:
            rows.append([_p(package.package_id, "cell_small"), _p(package.kind, "cell_small"),
                         _p(_utc(package.imported_at), "cell_small"), _p(package.imported_by or "—", "cell_small")])
            rows.append([_p("Manifest SHA-256", "mono",
                            raw=f"&nbsp;&nbsp;{markup(package.manifest_sha256 or '— (registered by hand)')}"),
                         "", "", ""])
            extra.append(("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)))
        yield _table(rows, [WIDTH - 300, 80, 110, 110], extra=extra)
    else:
        yield _p("No package was delivered (registered by hand).", "body")
    yield _p(f"Artifacts ({len(r.artifacts)})", "h1")
    if r.artifacts:
        rows = [[_p(t, "label") for t in ("Path", "Kind", "Package")] + [_p("Bytes", "label_right")]]
        extra = []
        for artifact in r.artifacts:
            rows.append([_p(artifact.path, "cell_small"), _p(artifact.kind, "cell_small"),
                         _p(artifact.package_id or "—", "cell_small"), _p(f"{artifact.size_bytes:,}", "cell_right")])
            rows.append([_p("SHA-256", "mono", raw=f"&nbsp;&nbsp;{artifact.sha256}"), "", "", ""])
            extra.append(("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)))
        yield _table(rows, [WIDTH - 270, 90, 110, 70], extra=extra)
    else:
        yield _p("No artifacts.", "body")
    if r.comparison is not None:
        yield from _comparison(r.comparison)
    yield _p(f"State changes ({len(r.state_changes)})", "h1")
    if r.state_changes:
        rows = [[_p(t, "label") for t in ("When", "Who", "From", "To", "Action")]]
        rows += [[_p(_stamp(c.occurred_at), "cell_small"), _p(c.actor, "cell_small"), _p(c.from_state, "cell_small"),
                  _p(c.to_state, "cell_small"), _p(c.action, "cell_small")] for c in r.state_changes]
        yield _table(rows, [112, 72, 84, 84, WIDTH - 352], zebra=True)
    else:
        yield _p("No state change is recorded.", "body")
    yield _p(f"Recommendations ({len(r.recommendations)})", "h1")
    if not r.recommendations:
        yield _p("No recommendation has been submitted.", "body")
    for rec in r.recommendations:
        yield KeepTogether([_key_values(_recommendation_pairs(rec)), Spacer(1, 6)])
    if r.statements:
        yield from _statements(r.statements)
    yield CondPageBreak(160)
    yield _p(f"Findings ({len(r.findings)})", "h1")
    if not r.findings:
        yield _p("No findings were recorded.", "body")
    for index, finding in enumerate(r.findings):
        if index:
            yield CondPageBreak(120)
        yield _p(f"{finding.label}  {finding.title}", "h2")
        pairs = [("Category", finding.category), ("Severity", finding.severity), ("Status", finding.status),
                 ("Author", finding.author), ("Recorded", _utc(finding.created_at)),
                 ("Description", markdown_flowables(finding.description) if finding.description.strip() else "—")]
        if finding.condition:
            pairs.append(("Condition if cleared", finding.condition))
        pairs += [(f"Evidence {i}", line) for i, line in enumerate(finding.evidence, start=1)]
        yield _key_values(pairs, label_width=110)
        if finding.history:
            yield Spacer(1, 3)
            yield _events_table(finding.history, with_hash=False)
    yield _p(f"Letters ({len(r.letters)})", "h1")
    if not r.letters:
        yield _p("No letter has been issued.", "body")
    for letter in r.letters:
        yield KeepTogether([_key_values([
            ("Letter", f"{letter.number} ({letter.kind})"), ("Decision", letter.decision),
            ("Issued", _utc(letter.issued_at)), ("Signed by", letter.signer or "—"), ("Status", letter.status),
            ("PDF SHA-256", letter.pdf_sha256), ("Letter data SHA-256", letter.data_digest),
            ("Audit-chain head at issuance", letter.audit_head)],
            mono=("PDF SHA-256", "Letter data SHA-256", "Audit-chain head at issuance")), Spacer(1, 6)])
    if r.conditions:
        yield from _record_conditions(r)
    yield CondPageBreak(160)
    yield _p(f"Audit events ({len(r.events)})", "h1")
    yield _p("Every event about the submission and the records inside it, oldest first, with each event's own "
             "hash in the chain.", "small")
    yield _events_table(r.events, with_hash=True)
    yield _p("Audit chain", "h1")
    verdict = ("Verified: every event's hash and link was recomputed when this record was made." if r.chain_verified
               else f"NOT VERIFIED: {r.chain_problem}")
    yield _key_values([("Chain head", f"event {r.chain_seq:,}"), ("Head hash", r.chain_head),
                       ("Anchor", f"{r.chain_seq} {r.chain_head}"), ("Verification", verdict)],
                      mono=("Head hash", "Anchor"))


def _recommendation_pairs(rec: RecordRecommendation) -> list[tuple[str, str]]:
    """The recommendation, and its sign-off: who approved or returned it, when, and what they wrote."""
    pairs = [("Decision", rec.decision), ("Reviewer", rec.reviewer), ("Submitted", _utc(rec.submitted_at)),
             ("Outcome", rec.outcome), ("Rationale", rec.rationale or "—")]
    pairs += [(f"Condition {i}", c) for i, c in enumerate(rec.conditions, start=1)]
    if rec.signed_off_by or rec.signed_off_at is not None:
        verb = {"approved": "Approved", "returned": "Returned to the reviewer"}.get(rec.outcome, rec.outcome.capitalize())
        pairs.append(("Sign-off", f"{verb} by {rec.signed_off_by or '—'}, {_utc(rec.signed_off_at)}"))
        label = "Return comments" if rec.outcome == "returned" else "Sign-off comment"
        pairs.append((label, rec.signoff_comment or "—"))
    if rec.letter_reasons:
        pairs.append(("Reasons approved for the letter", rec.letter_reasons))
    return pairs


def _statements(statements: Sequence[RecordStatement]) -> Iterator[Flowable]:
    """Reasons, requests and comments as written, whole; the audit events below show them shortened."""
    yield CondPageBreak(120)
    yield _p(f"Reasons, requests and comments ({len(statements)})", "h1")
    rows: list[list[Any]] = [[_p("When and who", "label"), _p("What was written", "label")]]
    for statement in statements:
        numbered = len(statement.texts) > 1
        said = [_bold(statement.what, "cell_small")]
        said += [_p(f"{i}. {text}" if numbered else text, "cell") for i, text in enumerate(statement.texts, start=1)]
        rows.append([[_p(_stamp(statement.occurred_at), "cell_small"), _p(statement.actor, "cell_small")], said])
    yield _table(rows, [120, WIDTH - 120], zebra=True)


def _comparison(c: RecordComparison) -> Iterator[Flowable]:
    """Changes since the previous submission: artifacts, manifest fields, metrics, earlier findings."""
    yield CondPageBreak(160)
    yield _p("Changes since the previous submission", "h1")
    yield _p(f"{c.title}. Packages: {c.packages}.", "body")
    yield _p(f"Artifacts: {len(c.artifacts)} added, removed or changed; {c.unchanged_artifacts} unchanged", "h2")
    if c.artifacts:
        rows: list[list[Any]] = [[_p(t, "label") for t in ("Change", "Path")]]
        extra: list[tuple[Any, ...]] = []
        for change, path, before, after in c.artifacts:
            rows.append([_p(change, "cell_small"), _p(path, "cell_small")])
            for label, digest in (("before", before), ("after", after)):
                if digest != "—":
                    rows.append([_p(label, "cell_small"), _p("SHA-256", "mono", raw=f"&nbsp;&nbsp;{digest}")])
        yield _table(rows, [70, WIDTH - 70], extra=extra)
    yield _p(f"Manifest fields changed: {len(c.fields)}", "h2")
    if c.fields:
        rows = [[_p(t, "label") for t in ("Field", "Before", "After")]]
        rows += [[_p(name, "cell_small"), _p(before, "cell_small"), _p(after, "cell_small")]
                 for name, before, after in c.fields]
        yield _table(rows, [150, (WIDTH - 150) / 2, (WIDTH - 150) / 2], zebra=True)
    yield _p("Evaluation metrics (same task and scorer)", "h2")
    if c.metrics:
        rows = [[_p(t, "label") for t in ("Task", "Scorer", "Metric", "Before", "After", "")]]
        rows += [[_p(task, "cell_small"), _p(scorer, "cell_small"), _p(metric, "cell_small"),
                  _p(before, "cell_right"), _p(after, "cell_right"), _p("changed" if changed else "", "cell_small")]
                 for task, scorer, metric, before, after, changed in c.metrics]
        yield _table(rows, [WIDTH - 330, 90, 80, 55, 55, 50], zebra=True)
    else:
        yield _p("No evaluation log on either side.", "body")
    if c.findings_of:
        yield _p(f"Findings of {c.findings_of}", "h2")
        if c.findings:
            rows = [[_p(t, "label") for t in ("Finding", "Title", "Severity", "Status", "Carried over as")]]
            rows += [[_p(label, "cell_small"), _p(title, "cell_small"), _p(severity, "cell_small"),
                      _p(status, "cell_small"), _p(carried, "cell_small")]
                     for label, title, severity, status, carried in c.findings]
            yield _table(rows, [45, WIDTH - 285, 70, 90, 80], zebra=True)
        else:
            yield _p("The earlier submission has no findings.", "body")
    for note in c.notes:
        yield _p(note, "small")


def _record_conditions(r: ReviewRecord) -> Iterator[Flowable]:
    """The letter's conditions as followed up after clearance (their history is in the audit events)."""
    yield _p(f"Conditions after clearance ({len(r.conditions)})", "h1")
    for condition in r.conditions:
        pairs = [("Condition", condition.label), ("Text", condition.text), ("Owner", condition.owner or "—"),
                 ("Due", condition.due_date.isoformat()), ("Status", condition.status)]
        if condition.reason:
            pairs.append(("Reason", condition.reason))
        pairs += [(f"Evidence {i}", line) for i, line in enumerate(condition.evidence, start=1)]
        yield KeepTogether([_key_values(pairs, label_width=110), Spacer(1, 6)])


def _events_table(events: Sequence[RecordEvent], *, with_hash: bool) -> Table:
    """One row per event; with `with_hash`, the event's hash on a row of its own beneath it."""
    rows: list[list[Any]] = [[_p(t, "label") for t in ("#", "When", "Who", "Action", "Change")]]
    lines: list[tuple[Any, ...]] = [("LINEBELOW", (0, 0), (-1, 0), 0.4, RULE)]
    for event in events:
        rows.append([_p(str(event.seq), "cell_small"), _p(_stamp(event.occurred_at), "cell_small"),
                     _p(event.actor, "cell_small"), _p(f"{event.action} ({event.entity})", "cell_small"),
                     _p(event.summary or "—", "cell_small")])
        if with_hash:
            rows.append(["", _p("hash", "mono", raw=f"&nbsp;&nbsp;{event.hash}"), "", "", ""])
            lines.append(("SPAN", (1, len(rows) - 1), (-1, len(rows) - 1)))
        lines.append(("LINEBELOW", (0, len(rows) - 1), (-1, len(rows) - 1), 0.4, RULE))
    table = Table(rows, colWidths=[34, 84, 62, 120, WIDTH - 300], repeatRows=1)
    commands = [c for c in _grid(header=True) if c[0] != "LINEBELOW"]
    table.setStyle(TableStyle([*commands, *lines]))
    return table
