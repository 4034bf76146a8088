"""The reviewer in front of the window: readable history, the supervisor's word on the
Overview, severity and status in the findings list (pytest-qt, offscreen, real services)."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor

from desktop_app.domain.types import Decision
from desktop_app.ui.common import theme
from desktop_app.ui.review.workflow import PANEL_ORDER, AssignDialog

from .conftest import draft
from .test_workflow_gui import open_window, services, submission  # noqa: F401  (fixtures)

RETURN_COMMENT = "Say how the exploit-refusal classifier was tested against the CVE-2026-0001 prompt set."


def returned(services, people, submission: int) -> None:  # noqa: ANN001
    rev, sup = people["rev"], people["sup"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    services.findings.create(rev, submission, draft(severity="Medium"))
    services.workflow.submit_recommendation(rev, submission, Decision.NOT_CLEARED, "Too capable.")
    services.workflow.return_with_comments(sup, submission, RETURN_COMMENT)


def test_history_reads_as_sentences_with_full_names(qtbot, services, people, submission) -> None:  # noqa: ANN001
    returned(services, people, submission)
    window = open_window(qtbot, services, people["rev"], submission)
    history = window.detail.history
    cells = [history.item(r, c).text() for r in range(history.rowCount()) for c in range(history.columnCount())]
    sentences = [history.item(r, history.columnCount() - 1).text() for r in range(history.rowCount())]
    assert f"Returned to review by Dana Supervisor: {RETURN_COMMENT}" in sentences
    assert "Accepted for review and assigned to Riley Reviewer by Riley Reviewer" in sentences
    assert "Recommended Not cleared by Riley Reviewer: Too capable." in sentences
    assert not [c for c in cells if "submission." in c or "finding." in c or "{" in c or '":' in c]


def test_the_latest_return_comment_is_on_the_overview(qtbot, services, people, submission) -> None:  # noqa: ANN001
    returned(services, people, submission)
    window = open_window(qtbot, services, people["rev"], submission)
    text = window.detail.overview.toPlainText()
    assert "Returned to review by Dana Supervisor, " in text and RETURN_COMMENT in text
    assert text.index(RETURN_COMMENT) < text.index("Developer")  # before the facts: the first thing read


def test_the_findings_list_shows_severity_and_status_in_a_narrow_pane(qtbot, services, people,  # noqa: ANN001
                                                                       submission) -> None:
    rev = people["rev"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    services.findings.create(rev, submission, draft("A very long finding title " * 7, severity="Critical"))
    window = open_window(qtbot, services, rev, submission)
    window.resize(1366, 768)
    window.detail.setCurrentWidget(window.detail.findings_page)
    table = window.detail.findings
    qtbot.waitUntil(lambda: table.isVisible() and table.viewport().width() > 0)
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    severity, status = headers.index("Severity"), headers.index("Status")
    assert table.item(0, severity).text() == "Critical" and table.item(0, status).text() == "Open"
    for column in (0, severity, status):
        right = table.columnViewportPosition(column) + table.columnWidth(column)
        assert 0 <= table.columnViewportPosition(column) and right <= table.viewport().width(), headers[column]


def test_warning_text_keeps_wcag_contrast_after_every_palette_switch(qtbot, services, people, submission,  # noqa: ANN001
                                                                     clock) -> None:
    rev = people["rev"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    services.workflow.change_window(rev, submission, 45, "The external lab needs longer.")  # due after the release
    clock.advance(days=50)  # and overdue
    window = open_window(qtbot, services, rev, submission)
    summary = window.detail.action_panel.summary
    assert "overdue by" in summary.text() and "release planned" in summary.text()
    try:
        for choice in (theme.PaletteChoice.LIGHT, theme.PaletteChoice.DARK, theme.PaletteChoice.LIGHT):
            theme.apply(choice, remember=False)
            qtbot.wait(20)  # palette change events reach the widgets
            background = summary.palette().color(summary.backgroundRole())
            assert (background.lightness() < 128) == (choice is theme.PaletteChoice.DARK)
            warnings = re.findall(r"color:\s*(#[0-9a-fA-F]{6})'>⚠", summary.text())
            assert len(warnings) == 2, summary.text()
            for found in warnings:
                assert theme.contrast_ratio(QColor(found), background) >= 4.5, (choice, found)
            muted = window.detail.action_panel.unavailable
            assert theme.contrast_ratio(muted.palette().color(muted.foregroundRole()),
                                        muted.palette().color(muted.backgroundRole())) >= 4.5
    finally:
        theme.apply(theme.PaletteChoice.SYSTEM, remember=False)


def test_every_workflow_action_has_a_shortcut_that_answers(qtbot, services, people, submission) -> None:  # noqa: ANN001
    window = open_window(qtbot, services, people["rev"], submission)
    entries = {a.text(): a.shortcut().toString() for a in window.review_menu.actions() if not a.isSeparator()}
    assert len(entries) == len(PANEL_ORDER) + 2 and all(entries.values()), entries
    every = [a.shortcut().toString() for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert len(every) == len(set(every)), sorted(every)  # no shortcut is taken twice
    assert "(Alt+Shift+A)" in window.detail.action_panel.buttons["accept_and_assign"].toolTip()

    with qtbot.waitActive(window):
        window.activateWindow()
    window.queue.setFocus()
    qtbot.keyClick(window.queue, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: isinstance(window.review.dialog, AssignDialog) and window.review.dialog.isVisible())
    window.review.dialog.reject()
    qtbot.waitUntil(lambda: window.review.dialog is None)

    qtbot.keyClick(window.queue, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.review.dialog is None
    assert "supervisor" in window.statusBar().currentMessage()  # not offered: the reason, not silence
    qtbot.keyClick(window.queue, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.statusBar().currentMessage()  # a finding needs the submission accepted first: said so
