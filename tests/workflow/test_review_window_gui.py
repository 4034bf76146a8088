"""The reviewer in front of the window: readable history, the supervisor's word on the
Overview, severity and status in the findings list (pytest-qt, offscreen, real services)."""

from __future__ import annotations

from desktop_app.domain.types import Decision

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
