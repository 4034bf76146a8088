"""The review workflow through the window (pytest-qt, offscreen): actions, findings, undo, history, my work."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimeZone
from PySide6.QtGui import QKeySequence
from sqlalchemy import select

from desktop_app.domain.errors import ConcurrentEdit
from desktop_app.domain.types import Decision, SubmissionState
from desktop_app.services.bundle import Services
from desktop_app.services.intake import IntakeService
from desktop_app.storage.models import AuditEvent
from desktop_app.ui.review.findings import FindingEditor, FindingVersionDialog
from desktop_app.ui.mainwindow.window import MainWindow
from desktop_app.ui.operations import bus
from desktop_app.ui.queue.model import days_left_text
from desktop_app.ui.review.workflow import (
    AssignDialog,
    InfoReceivedDialog,
    OperationDialog,
    RecommendDialog,
    TextActionDialog,
)

from .conftest import PASSWORD, draft

S = SubmissionState


@pytest.fixture
def services(ctx, people) -> Services:  # noqa: ANN001
    return Services.from_context(ctx)


@pytest.fixture
def submission(ctx, people, samples_dir: Path) -> int:  # noqa: ANN001
    return IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1").submission_id


def open_window(qtbot, services: Services, actor, submission_id: int) -> MainWindow:  # noqa: ANN001
    window = MainWindow(services, actor)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.select_submission(submission_id)
    qtbot.waitUntil(lambda: window.detail.detail is not None and window.detail.detail.id == submission_id)
    return window


def state(services: Services, submission_id: int) -> SubmissionState:
    return services.workflow.facts(submission_id).state


def click_action(qtbot, window: MainWindow, key: str) -> OperationDialog:  # noqa: ANN001
    button = window.detail.action_panel.buttons[key]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = window.review.dialog
    assert isinstance(dialog, OperationDialog) and dialog.isVisible()
    return dialog


def finish(qtbot, window: MainWindow, dialog: OperationDialog) -> None:  # noqa: ANN001
    with qtbot.waitSignal(bus().changed, timeout=5000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_one_submission_from_received_to_awaiting_signoff(qtbot, services, people, submission) -> None:  # noqa: ANN001
    window = open_window(qtbot, services, people["rev"], submission)
    panel = window.detail.action_panel
    assert set(panel.buttons) == {"accept_and_assign", "refuse", "withdraw"}

    dialog = click_action(qtbot, window, "accept_and_assign")
    assert isinstance(dialog, AssignDialog) and dialog.assignee.currentData() == people["rev"].user_id
    finish(qtbot, window, dialog)
    assert state(services, submission) is S.IN_REVIEW
    assert window.current_id() == submission and "request_info" in panel.buttons  # selection kept, panel fresh

    window.detail.setCurrentWidget(window.detail.findings_page)
    qtbot.mouseClick(window.detail.findings_page.buttons["new"], Qt.MouseButton.LeftButton)
    editor = window.review.dialog
    assert isinstance(editor, FindingEditor)
    editor.title.setText("Completes exploit chains when the task is split across turns")
    editor.category.setCurrentIndex(editor.category.findData("cyber.exploit-dev"))
    editor.severity.setCurrentIndex(editor.severity.findData("Medium"))
    editor.description_edit.setPlainText("Seen in **4 of 20** sessions.")
    editor.condition.setPlainText("Keep the exploit-refusal classifier enabled.")
    finish(qtbot, window, editor)
    findings_table = window.detail.findings
    assert findings_table.rowCount() == 1 and findings_table.item(0, 0).text() == "F-1"
    assert "4 of 20" in window.detail.findings_page.view.description.toPlainText()

    dialog = click_action(qtbot, window, "request_info")
    assert isinstance(dialog, TextActionDialog)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # empty: refused in the dialog, which stays
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert "write the information you are requesting" in dialog.error.text() and dialog.isVisible()
    dialog.text.setPlainText("Send the red-team transcripts.")
    finish(qtbot, window, dialog)
    assert state(services, submission) is S.AWAITING_INFO
    row = window.model.row_data(window.model.row_for_id(submission))
    assert days_left_text(row) == "paused"
    assert "clock paused" in panel.summary.text()

    dialog = click_action(qtbot, window, "record_info_received")
    assert isinstance(dialog, InfoReceivedDialog)
    finish(qtbot, window, dialog)
    assert state(services, submission) is S.IN_REVIEW

    dialog = click_action(qtbot, window, "submit_recommendation")
    assert isinstance(dialog, RecommendDialog)
    assert dialog.conditions.toPlainText() == "Keep the exploit-refusal classifier enabled."  # gathered
    dialog.radios[Decision.CLEARED_WITH_CONDITIONS].setChecked(True)
    dialog.rationale.setPlainText("One medium finding, handled by a condition.")
    finish(qtbot, window, dialog)
    assert state(services, submission) is S.AWAITING_SIGNOFF
    detail = services.submissions.detail(submission)
    assert detail.pending_recommendation.conditions == ("Keep the exploit-refusal classifier enabled.",)
    # the reviewer may not approve: the panel says why
    assert "approve" not in panel.buttons and "Only a supervisor" in panel.reasons["approve"]
    actions = [window.detail.history.item(r, 2).text() for r in range(window.detail.history.rowCount())]
    assert actions[-5:] == [
        "Accepted for review and assigned to Riley Reviewer by Riley Reviewer",
        "Finding F-1 “Completes exploit chains when the task is split across turns” recorded by Riley Reviewer",
        "Information requested from the developer by Riley Reviewer: Send the red-team transcripts.",
        "Information received, recorded by Riley Reviewer",
        "Recommended Cleared with conditions by Riley Reviewer: One medium finding, handled by a condition."]


def test_cleared_is_explained_in_the_recommendation_dialog(qtbot, services, people, submission) -> None:  # noqa: ANN001
    services.workflow.accept_and_assign(people["rev"], submission, people["rev"].user_id)
    services.findings.create(people["rev"], submission, draft(severity="Critical"))
    window = open_window(qtbot, services, people["rev"], submission)
    dialog = click_action(qtbot, window, "submit_recommendation")
    assert isinstance(dialog, RecommendDialog)
    dialog.radios[Decision.CLEARED].setChecked(True)
    assert dialog.guard.isVisible() and "F-1" in dialog.guard.text()
    dialog.rationale.setPlainText("Fine.")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert "Cleared cannot be recommended" in dialog.error.text()
    dialog.radios[Decision.NOT_CLEARED].setChecked(True)
    assert not dialog.guard.isVisible()
    finish(qtbot, window, dialog)
    assert state(services, submission) is S.AWAITING_SIGNOFF


def test_undo_and_redo_of_a_finding_edit_are_saved_changes(qtbot, ctx, services, people, submission) -> None:  # noqa: ANN001
    rev = people["rev"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    finding = services.findings.create(rev, submission, draft(severity="Medium"))
    window = open_window(qtbot, services, rev, submission)
    assert window.undo_action.shortcut() == QKeySequence("Ctrl+Z")
    assert window.redo_action.shortcut() == QKeySequence("Ctrl+Shift+Z")
    assert not window.undo_action.isEnabled()
    window.detail.setCurrentWidget(window.detail.findings_page)
    qtbot.mouseClick(window.detail.findings_page.buttons["edit"], Qt.MouseButton.LeftButton)
    editor = window.review.dialog
    assert isinstance(editor, FindingEditor) and editor.title.text() == finding.title
    editor.severity.setCurrentIndex(editor.severity.findData("Critical"))
    finish(qtbot, window, editor)
    assert services.findings.get(finding.id).severity.value == "Critical"
    assert window.undo_action.isEnabled() and "F-1 (severity)" in window.undo_action.text()

    with qtbot.waitSignal(bus().changed):
        window.undo_action.trigger()
    undone = services.findings.get(finding.id)
    assert (undone.severity.value, undone.version) == ("Medium", 3)  # a new version, not a rollback
    assert window.detail.findings.item(0, 1).text() == "Medium"
    with qtbot.waitSignal(bus().changed):
        window.redo_action.trigger()
    assert services.findings.get(finding.id).severity.value == "Critical"
    with ctx.reading() as session:
        edits = [json.loads(e.after) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "finding.edit").order_by(AuditEvent.seq))]
    assert [(e["severity"], e["version"]) for e in edits] == [("Critical", 2), ("Medium", 3), ("Critical", 4)]

    # someone else saves meanwhile: the undo is refused with who and when, and leaves the stack
    services.findings.edit(people["rev2"], finding.id, draft(severity="Low"), expected_version=4)
    window.undo_action.trigger()  # the save runs on a worker (ui.operations): wait for its answer
    qtbot.waitUntil(lambda: isinstance(window.review.last_error, ConcurrentEdit))
    assert "changed by Jo Reviewer" in str(window.review.last_error)
    assert services.findings.get(finding.id).severity.value == "Low"
    assert window.undo_stack.count() == 0


def test_the_action_panel_offers_what_the_user_may_do_and_explains_the_rest(qtbot, services, people,
                                                                            submission) -> None:  # noqa: ANN001
    rev, sup = people["rev"], people["sup"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    services.findings.create(sup, submission, draft(severity="Low"))
    services.workflow.submit_recommendation(rev, submission, Decision.CLEARED, "Low only.")

    window = open_window(qtbot, services, sup, submission)  # sup wrote a finding: may return, not approve
    panel = window.detail.action_panel
    assert {"return", "reassign", "change_window", "withdraw"} <= set(panel.buttons)
    assert "approve" not in panel.buttons
    assert "You wrote findings on this submission" in panel.unavailable.text()
    assert panel.others_toggle.isVisible() and not panel.others.isVisible()
    panel.others_toggle.click()
    assert panel.others.isVisible() and "Only a newly received submission" in panel.others.text()
    window.close()

    window = open_window(qtbot, services, people["admin"], submission)
    panel = window.detail.action_panel
    assert panel.buttons == {}
    assert "Administrators manage accounts" in panel.unavailable.text()
    assert not window.detail.findings_page.buttons["new"].isEnabled()
    window.close()

    window = open_window(qtbot, services, people["sup2"], submission)
    assert "approve" in window.detail.action_panel.buttons


def test_history_shows_an_earlier_version_and_my_work_lists_mine(qtbot, services, people, submission) -> None:  # noqa: ANN001
    rev = people["rev"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    first = services.findings.create(rev, submission, draft("First title", severity="Medium"))
    services.findings.edit(rev, first.id, draft("Second title", severity="High"), expected_version=first.version)
    window = open_window(qtbot, services, rev, submission)
    history = window.detail.history
    row = next(r for r in range(history.rowCount()) if history.item(r, 2).text().startswith("Finding F-1 “First title” recorded"))
    history.selectRow(row)
    assert window.detail.version_button.isEnabled()
    qtbot.mouseClick(window.detail.version_button, Qt.MouseButton.LeftButton)
    shown = [w for w in window.findChildren(FindingVersionDialog) if w.isVisible()]
    assert len(shown) == 1 and "First title" in shown[0].view.header.text()
    assert "Medium" in shown[0].view.header.text()
    shown[0].close()

    window.open_my_work()
    tree = window.my_work.tree
    assigned = tree.topLevelItem(0)
    assert assigned.text(0) == "Assigned to me (1)" and assigned.child(0).text(0) == "CD-2026-0001"
    window.my_work.close()


def test_evidence_is_attached_and_cited_from_the_findings_tab(qtbot, services, people, submission,
                                                              tmp_path: Path) -> None:  # noqa: ANN001
    from desktop_app.ui.review.findings import AttachFileDialog, CiteArtifactDialog

    rev = people["rev"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    finding = services.findings.create(rev, submission, draft())
    window = open_window(qtbot, services, rev, submission)
    page = window.detail.findings_page
    window.detail.setCurrentWidget(page)
    qtbot.mouseClick(page.buttons["attach"], Qt.MouseButton.LeftButton)
    dialog = window.review.dialog
    assert isinstance(dialog, AttachFileDialog)
    note = tmp_path / "session 14.txt"
    note.write_text("turn 1 …\n", encoding="utf-8")
    dialog.path.setText(str(note))
    dialog.produced.known.setChecked(True)
    dialog.produced.when.setDateTime(QDateTime(QDate(2026, 10, 30), QTime(9, 0), QTimeZone.utc()))
    finish(qtbot, window, dialog)
    qtbot.mouseClick(page.buttons["cite"], Qt.MouseButton.LeftButton)
    dialog = window.review.dialog
    assert isinstance(dialog, CiteArtifactDialog)
    dialog.artifact.setCurrentIndex(dialog.artifact.findText("evals/cyber-range-v4.json", Qt.MatchFlag.MatchStartsWith))
    dialog.locator.setText("task 7")
    finish(qtbot, window, dialog)
    evidence = services.findings.get(finding.id).evidence
    assert [(e.kind, e.title, e.locator) for e in evidence] == [
        ("file", "session 14.txt", ""), ("artifact", "evals/cyber-range-v4.json", "task 7")]
    assert evidence[0].produced_at == dt.datetime(2026, 10, 30, 9, 0, tzinfo=dt.UTC)
    assert evidence[1].produced_at is None and evidence[0].attached_at == services.ctx.now()
    table = page.view.evidence
    assert table.rowCount() == 2 and table.item(1, 2).text() == "evals/cyber-range-v4.json, task 7"
    table.selectRow(0)
    assert page.buttons["save"].isEnabled()
    table.selectRow(1)
    assert not page.buttons["save"].isEnabled()
