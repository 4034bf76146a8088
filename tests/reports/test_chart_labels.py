"""The periodic report's bar charts print every category label whole, inside the page."""

from __future__ import annotations

from reportlab.pdfbase.pdfmetrics import stringWidth

from desktop_app.domain import findings as finding_rules
from desktop_app.letters._layout import SANS, _register_fonts
from desktop_app.letters.reports import (
    LABEL_GAP,
    LABEL_SIZE,
    SEVERITY_COLOURS,
    WIDTH,
    horizontal_bars,
    wrap_label,
)
from desktop_app.services.findings import categories


def test_every_category_title_is_printed_whole_within_the_label_column() -> None:
    _register_fonts()
    titles = [*finding_rules.category_titles(categories()).values(),  # as the report prints them
              *finding_rules.category_titles(categories(), full=True).values()]
    assert "Evaluation integrity (sandbagging, deception)" in titles  # 45 characters: it used to lose its end
    for width in (190, 150):  # the findings chart's label column, and the other charts'
        for title in titles:
            shown = wrap_label(title, width - LABEL_GAP)
            assert "…" not in shown and " ".join(shown.split()) == title  # whole: every word, in order
            assert all(stringWidth(line, SANS, LABEL_SIZE) <= width - LABEL_GAP for line in shown.split("\n"))
    assert "\n" in wrap_label("Evaluation integrity (sandbagging, deception)", 150 - LABEL_GAP)


def test_a_stacked_chart_with_long_labels_stays_inside_its_drawing() -> None:
    _register_fonts()
    titles = list(finding_rules.category_titles(categories(), full=True).values())
    drawing = horizontal_bars("Findings by category, stacked by severity", titles,
                              [[n + 1 for n in range(len(titles))]] * 5, SEVERITY_COLOURS,
                              names=["Critical", "High", "Medium", "Low", "Informational"], label_width=190)
    left, bottom, right, top = drawing.getBounds()
    assert left >= 0 and bottom >= 0 and right <= WIDTH and top <= drawing.height
    assert drawing.width <= WIDTH


def test_a_label_too_long_for_two_lines_is_shortened_visibly() -> None:
    _register_fonts()
    shown = wrap_label("Evaluation integrity " * 8, 100)
    assert shown.count("\n") == 1 and shown.endswith("…")
    assert all(stringWidth(line, SANS, LABEL_SIZE) <= 100 for line in shown.split("\n"))
