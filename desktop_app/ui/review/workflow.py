"""The review workflow in the window: the action panel, one dialog per action, and the controller.

The panel shows only the actions the signed-in user may take now (the service's
verdicts, the same rules it enforces) and says in words why the others are not
offered. Each dialog collects its action's inputs and runs the service call off the GUI
thread (`OperationDialog`); a refusal or rejected input is shown inside the dialog, so
the user can correct it without starting over.

`WorkflowController` opens the dialogs (non-blocking, so tests and the window stay
responsive) and announces every saved change as `Changes` on the one bus (ui.operations); the window
listens and refreshes the queue row and the detail, keeping the selection.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QFrame,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.domain.types import Decision
from desktop_app.domain.workflow import Action, ActionInputs, Verdict, next_state
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.detail import ActionChoices, SubmissionDetail
from desktop_app.ui.common import theme
from desktop_app.ui.common.errors import problem_text
from desktop_app.ui.common.layouts import FlowLayout
from desktop_app.ui.operations import ChangeKind, Changes, bus
from desktop_app.ui.operations.dialog import OperationDialog

log = logging.getLogger("clearance_desk.ui")

#: The window-change "action": not part of the state machine, offered beside it.
CHANGE_WINDOW = "change_window"
#: Button order: the review's main path first, then the occasional actions.
PANEL_ORDER: tuple[Action | str, ...] = (
    Action.ACCEPT_AND_ASSIGN, Action.REQUEST_INFO, Action.RECORD_INFO_RECEIVED, Action.SUBMIT_RECOMMENDATION,
    Action.APPROVE, Action.RETURN, Action.REASSIGN, CHANGE_WINDOW, Action.REFUSE, Action.WITHDRAW,
)
#: The review actions from the keyboard: the Review menu carries them, the buttons' tooltips name them.
#: Alt+Shift keeps clear of the window's Ctrl shortcuts and of the dialogs' Alt mnemonics.
SHORTCUTS: dict[str, str] = {
    Action.ACCEPT_AND_ASSIGN.value: "Alt+Shift+A",
    Action.REQUEST_INFO.value: "Alt+Shift+I",
    Action.RECORD_INFO_RECEIVED.value: "Alt+Shift+D",
    Action.SUBMIT_RECOMMENDATION.value: "Alt+Shift+S",
    Action.APPROVE.value: "Alt+Shift+P",
    Action.RETURN.value: "Alt+Shift+T",
    Action.REASSIGN.value: "Alt+Shift+G",
    CHANGE_WINDOW: "Alt+Shift+W",
    Action.REFUSE.value: "Alt+Shift+F",
    Action.WITHDRAW.value: "Alt+Shift+X",
    "new_finding": "Alt+Shift+N",
    "edit_finding": "Alt+Shift+E",
}
#: Actions offered on the Findings tab instead of the panel.
FINDING_ACTIONS = (Action.ADD_FINDING, Action.EDIT_FINDINGS)


def action_key(action: Action | str) -> str:
    return action.value if isinstance(action, Action) else action


def button_text(action: Action | str) -> str:
    if action == CHANGE_WINDOW:
        return "Change review window…"
    assert isinstance(action, Action)
    return f"{action.label}…"


class ActionPanel(QFrame):
    """The actions the signed-in user may take on the shown submission, and why not the others."""

    action_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("actionPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Actions")
        self.summary = QLabel()
        self.summary.setObjectName("clockSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.buttons_host = QWidget()
        self.flow = FlowLayout(self.buttons_host)
        self.buttons: dict[str, QPushButton] = {}
        self.unavailable = QLabel()
        self.unavailable.setObjectName("unavailableActions")
        self.unavailable.setWordWrap(True)
        self.unavailable.setTextFormat(Qt.TextFormat.RichText)
        theme.colour_text(self.unavailable, "muted")
        self.others_toggle = QToolButton()
        self.others_toggle.setCheckable(True)
        self.others_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.others_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.others_toggle.setAutoRaise(True)
        self.others_toggle.toggled.connect(self._toggle_others)
        self.others = QLabel()
        self.others.setObjectName("otherActions")
        self.others.setWordWrap(True)
        self.others.setTextFormat(Qt.TextFormat.RichText)
        theme.colour_text(self.others, "muted")
        self.others.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        for widget in (self.summary, self.buttons_host, self.unavailable, self.others_toggle, self.others):
            layout.addWidget(widget)
        self.reasons: dict[str, str] = {}
        self.shown: tuple[SubmissionDetail, ActionChoices] | None = None
        theme.follow_palette(self, self._restyle)

    def _restyle(self) -> None:
        """The clock's warnings carry our colours in rich text: write them again for the new palette."""
        if self.shown is not None:
            self.summary.setText(clock_summary(*self.shown))

    def clear(self) -> None:
        for button in self.buttons.values():
            self.flow.removeWidget(button)
            button.hide()  # at once: deletion waits for the event loop, and must not paint meanwhile
            button.deleteLater()
        self.buttons.clear()
        self.reasons.clear()
        self.summary.clear()
        self.unavailable.clear()
        self.others.clear()
        self.others_toggle.hide()
        self.shown = None

    def show_choices(self, detail: SubmissionDetail, choices: ActionChoices) -> None:
        self.clear()
        self.shown = (detail, choices)
        self.summary.setText(clock_summary(detail, choices))
        offered: list[Action | str] = []
        blocked: list[tuple[Action | str, str]] = []
        elsewhere: list[tuple[Action | str, str]] = []
        for action in PANEL_ORDER:
            verdict = choices.window if action == CHANGE_WINDOW else choices.verdicts.get(action, Verdict(False))
            if verdict:
                offered.append(action)
            elif action != CHANGE_WINDOW and next_state(detail.state, action) is None:  # type: ignore[arg-type]
                elsewhere.append((action, verdict.reason))
            else:
                blocked.append((action, verdict.reason))
        for action in offered:
            button = QPushButton(button_text(action))
            key = action_key(action)
            button.setObjectName(f"action_{key}")
            button.setToolTip(f"{_TIPS.get(key, '')} ({SHORTCUTS[key]})" if key in SHORTCUTS else _TIPS.get(key, ""))
            button.clicked.connect(lambda _checked=False, key=key: self.action_requested.emit(key))
            self.buttons[key] = button
            self.flow.addWidget(button)
        self.buttons_host.setVisible(bool(offered))
        for action, reason in blocked + elsewhere:
            self.reasons[action_key(action)] = reason
        if not detail.state.is_open:
            self.unavailable.setText(f"This submission is {detail.state.label.lower()}; its review is closed. "
                                     "Its letters are in the Letters tab.")
        elif blocked:
            items = "".join(f"<li><b>{html.escape(_plain(a))}</b>: {html.escape(r)}</li>" for a, r in blocked)
            self.unavailable.setText(f"Not available to you now:<ul style='margin:0'>{items}</ul>")
        elif not offered:
            self.unavailable.setText("No action is open to you on this submission now.")
        else:
            self.unavailable.clear()
        self.unavailable.setVisible(bool(self.unavailable.text()))
        if elsewhere and detail.state.is_open:
            items = "".join(f"<li><b>{html.escape(_plain(a))}</b>: {html.escape(r)}</li>" for a, r in elsewhere)
            self.others.setText(f"<ul style='margin:0'>{items}</ul>")
            self.others_toggle.setText(f"Why other actions are not offered ({len(elsewhere)})")
            self.others_toggle.show()
            self.others.setVisible(self.others_toggle.isChecked())

    def trigger(self, key: str) -> str | None:
        """Take action `key` as its button would; if it is not offered, the sentence saying why."""
        button = self.buttons.get(key)
        if button is not None and button.isEnabled():
            button.click()
            return None
        if self.shown is None:
            return "Select a submission first."
        return self.reasons.get(key) or f"{_plain(key if key == CHANGE_WINDOW else Action(key))} is not open to you now."

    def _toggle_others(self, shown: bool) -> None:
        self.others_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.others.setVisible(shown)


def _plain(action: Action | str) -> str:
    return button_text(action).removesuffix("…")


_TIPS = {
    Action.ACCEPT_AND_ASSIGN.value: "Accept the submission for review and give it to a reviewer",
    Action.REFUSE.value: "Refuse to accept the submission, with the reasons (a notice letter can follow)",
    Action.REQUEST_INFO.value: "Ask the developer for information; the review clock stops until it arrives",
    Action.RECORD_INFO_RECEIVED.value: "Record that the information arrived; the clock runs again",
    Action.SUBMIT_RECOMMENDATION.value: "Recommend a decision for a supervisor's sign-off",
    Action.APPROVE.value: "Approve the recommendation and sign the clearance letter (asks for your password)",
    Action.RETURN.value: "Send the recommendation back to the reviewer with comments",
    Action.REASSIGN.value: "Give the submission to another reviewer",
    Action.WITHDRAW.value: "Record that the developer withdrew the submission",
    CHANGE_WINDOW: "Change this submission's review window (the reason is recorded)",
}


def review_menu(parent: QWidget, panel: ActionPanel, tell: Callable[[str], None],
                extra: Sequence[tuple[str, str, Callable[[], str | None]]] = ()) -> QMenu:
    """The "Review" menu: every panel action, then `extra` (key, text, trigger), each with its shortcut.

    The entries stay enabled so a shortcut always answers: an action not open now puts
    the reason on `tell` (the status bar) instead of doing nothing.
    """
    menu = QMenu("Revie&w", parent)
    menu.setToolTipsVisible(True)
    for action in PANEL_ORDER:
        key = action_key(action)
        entry = menu.addAction(button_text(action))
        entry.setShortcut(QKeySequence(SHORTCUTS[key]))
        entry.setStatusTip(_TIPS.get(key, ""))
        entry.triggered.connect(lambda _checked=False, key=key: _answer(panel.trigger(key), tell))
    menu.addSeparator()
    for key, text, trigger in extra:
        entry = menu.addAction(text)
        entry.setShortcut(QKeySequence(SHORTCUTS[key]))
        entry.triggered.connect(lambda _checked=False, trigger=trigger: _answer(trigger(), tell))
    return menu


def _answer(reason: str | None, tell: Callable[[str], None]) -> None:
    if reason:
        tell(reason)


def clock_summary(detail: SubmissionDetail, choices: ActionChoices) -> str:
    """One line: state, assignee, and the clock in words (not colour alone)."""
    parts = [f"<b>{html.escape(detail.state.label)}</b>"]
    if detail.assignee:
        parts.append(f"assigned to {html.escape(detail.assignee)}")
    clock = choices.clock
    if clock is not None:
        if clock.paused:
            since = f" since {choices.paused_since:%Y-%m-%d}" if choices.paused_since else ""
            parts.append(f"<b>clock paused</b>{since} (awaiting information); {clock.days_left} day(s) left when "
                         f"it resumes")
        elif clock.overdue:
            parts.append(f"<span style='color:{theme.colour("error").name()}'>⚠ overdue by {-clock.days_left} day(s)</span> "
                         f"(was due {clock.due_date.isoformat()})")
        else:
            parts.append(f"{clock.days_left} day(s) left (due {clock.due_date.isoformat()})")
        if clock.release_conflict and detail.intended_release:
            parts.append(f"<span style='color:{theme.colour("error").name()}'>⚠ release planned {detail.intended_release.isoformat()}, "
                         f"before the due date</span>")
    return " · ".join(parts)


# == dialogs ==================================================================================




def _text_box(name: str, placeholder: str = "", height: int = 110) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setAccessibleName(name)
    box.setPlaceholderText(placeholder)
    box.setTabChangesFocus(True)
    box.setMinimumHeight(height)
    return box


def _lines(text: str) -> list[str]:
    return [line.strip().lstrip("•-*").strip() for line in text.splitlines() if line.strip()]


class AssignDialog(OperationDialog):
    """Accept and assign, or reassign: choose the reviewer."""

    def __init__(self, services: Services, actor: Actor, detail: SubmissionDetail, *, reassign: bool,
                 parent: QWidget | None = None) -> None:
        title = f"Reassign {detail.reference}" if reassign else f"Accept {detail.reference} for review"
        intro = ("Give the submission to another reviewer." if reassign else
                 f"Accept {html.escape(detail.model_label)} from {html.escape(detail.developer_name)} for review and "
                 "choose the reviewer who will work on it.")
        super().__init__(title, intro, "&Reassign" if reassign else "&Accept and assign", parent)
        self.services, self.actor, self.detail, self.reassign = services, actor, detail, reassign
        self.assignee = QComboBox()
        self.assignee.setAccessibleName("Reviewer")
        for user_id, name in services.queue.assignees():
            if reassign and user_id == detail.assignee_id:
                continue
            self.assignee.addItem(name + (" (me)" if user_id == actor.user_id else ""), user_id)
        mine = self.assignee.findData(actor.user_id)
        if mine >= 0 and not reassign:
            self.assignee.setCurrentIndex(mine)
        self.form.addRow("&Reviewer:", self.assignee)
        self.fields["assignee_id"] = self.assignee

    def work(self) -> Callable[[], Any]:
        assignee_id = self.assignee.currentData()
        if assignee_id is None:
            raise InputRejected(Problem("choose the reviewer to assign", field="assignee_id"))
        workflow, actor, sid, version = self.services.workflow, self.actor, self.detail.id, self.detail.version
        if self.reassign:
            return lambda: workflow.reassign(actor, sid, assignee_id, expected_version=version)
        return lambda: workflow.accept_and_assign(actor, sid, assignee_id, expected_version=version)


class TextActionDialog(OperationDialog):
    """Refuse (reasons), request information (text), return (comments), withdraw (reason)."""

    SPECS: dict[str, tuple[str, str, str, str, str]] = {
        # key: (title, intro, label, placeholder, ok)
        Action.REFUSE.value: (
            "Refuse to accept {ref}",
            "The submission will not be reviewed. Give each reason on its own line; they are recorded and go into "
            "the notice of refusal.", "&Reasons:", "One reason per line", "&Refuse submission"),
        Action.REQUEST_INFO.value: (
            "Request information for {ref}",
            "Write what the developer must send. The review clock stops while the submission awaits the "
            "information, and the due date moves by the days it waits.", "&Request:",
            "What the developer should provide", "&Send request"),
        Action.RETURN.value: (
            "Return the recommendation for {ref}",
            "The recommendation goes back to the reviewer, and the submission is in review again.", "&Comments:",
            "What the reviewer should change", "&Return to reviewer"),
        Action.WITHDRAW.value: (
            "Record withdrawal of {ref}",
            "Record that the developer withdrew the submission. The review closes and cannot be reopened.",
            "&Reason:", "The developer's reason, as they gave it", "Record &withdrawal"),
    }
    FIELDS = {Action.REFUSE.value: "reasons", Action.REQUEST_INFO.value: "text", Action.RETURN.value: "comments",
              Action.WITHDRAW.value: "reason"}

    def __init__(self, services: Services, actor: Actor, detail: SubmissionDetail, key: str,
                 parent: QWidget | None = None) -> None:
        title, intro, label, placeholder, ok = self.SPECS[key]
        super().__init__(title.format(ref=detail.reference), intro, ok, parent)
        self.services, self.actor, self.detail, self.key = services, actor, detail, key
        self.text = _text_box(label.replace("&", "").rstrip(":"), placeholder)
        if key == Action.RETURN.value and detail.pending_recommendation is not None:
            rec = detail.pending_recommendation
            shown = QLabel(f"Recommended <b>{Decision(rec.decision).label}</b> by {html.escape(rec.reviewer)}: "
                           f"{html.escape(rec.rationale)}")
            shown.setWordWrap(True)
            self.form.addRow("Recommendation:", shown)
        self.form.addRow(label, self.text)
        self.fields[self.FIELDS[key]] = self.text
        self.respond_by: QDateEdit | None = None
        if key == Action.REQUEST_INFO.value:
            days = int(services.settings.get("response_days"))
            self.respond_by = QDateEdit(QDate.currentDate().addDays(days))
            self.respond_by.setCalendarPopup(True)
            self.respond_by.setDisplayFormat("yyyy-MM-dd")
            self.respond_by.setMinimumDate(QDate.currentDate().addDays(1))
            self.respond_by.setAccessibleName("Response due by")
            self.respond_by.setToolTip(f"The deadline the signed request gives the developer (default: {days} "
                                       f"calendar days, an agency setting)")
            self.form.addRow("Response &due by:", self.respond_by)
            self.fields["respond_by"] = self.respond_by

    def work(self) -> Callable[[], Any]:
        text = self.text.toPlainText()
        respond_by = self.respond_by.date().toPython() if self.respond_by is not None else None
        workflow, actor, sid, version = self.services.workflow, self.actor, self.detail.id, self.detail.version
        match self.key:
            case Action.REFUSE.value:
                return lambda: workflow.refuse(actor, sid, _lines(text), expected_version=version)
            case Action.REQUEST_INFO.value:
                return lambda: workflow.request_info(actor, sid, text, expected_version=version,
                                                     respond_by=respond_by)
            case Action.RETURN.value:
                return lambda: workflow.return_with_comments(actor, sid, text, expected_version=version)
        return lambda: workflow.withdraw(actor, sid, text, expected_version=version)


class InfoReceivedDialog(OperationDialog):
    def __init__(self, services: Services, actor: Actor, detail: SubmissionDetail,
                 parent: QWidget | None = None) -> None:
        open_requests = [r for r in detail.requests if r.answered_at is None]
        asked = "".join(f"<li>{html.escape(r.text)}</li>" for r in open_requests)
        intro = ("Record that the developer's answer arrived; the review clock runs again and the due date moves "
                 "by the days the submission waited." + (f"<ul>{asked}</ul>" if asked else ""))
        super().__init__(f"Information received for {detail.reference}", intro, "&Record", parent)
        self.services, self.actor, self.detail = services, actor, detail
        self.package = QComboBox()
        self.package.setAccessibleName("Supplement package")
        self.package.addItem("None (answered another way)", None)
        for choice in services.workflow.supplement_packages(detail.id):
            linked = " — already linked" if choice.linked else ""
            self.package.addItem(f"{choice.package_id} (imported {choice.imported_at:%Y-%m-%d %H:%M} UTC){linked}",
                                 choice.id)
        if self.package.count() > 1:
            self.package.setCurrentIndex(1)
        self.note = QLineEdit()
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("optional, e.g. how the answer arrived")
        self.form.addRow("Supplement &package:", self.package)
        self.form.addRow("&Note:", self.note)
        self.fields.update(package=self.package, note=self.note)

    def work(self) -> Callable[[], Any]:
        package_id, note = self.package.currentData(), self.note.text()
        workflow, actor, sid, version = self.services.workflow, self.actor, self.detail.id, self.detail.version
        return lambda: workflow.record_info_received(actor, sid, note=note, package_id=package_id,
                                                     expected_version=version)


class RecommendDialog(OperationDialog):
    """Decision, rationale and, for "cleared with conditions", the conditions gathered from the findings."""

    def __init__(self, services: Services, actor: Actor, detail: SubmissionDetail,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Submit recommendation for {detail.reference}",
                         "A supervisor who wrote no finding here signs off the recommendation.",
                         "&Submit for sign-off", parent)
        self.services, self.actor, self.detail = services, actor, detail
        self.decisions = QButtonGroup(self)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.radios: dict[Decision, QRadioButton] = {}
        for decision in Decision:
            radio = QRadioButton(decision.label)
            radio.setObjectName(f"decision_{decision.value}")
            self.decisions.addButton(radio)
            self.radios[decision] = radio
            column.addWidget(radio)
        self.guard = QLabel()
        self.guard.setObjectName("guardLabel")
        self.guard.setWordWrap(True)
        theme.colour_text(self.guard, "error")
        self.guard.hide()
        column.addWidget(self.guard)
        self.rationale = _text_box("Rationale", "Why this decision: the evidence it rests on")
        self.conditions = _text_box("Conditions", "One condition per line", height=90)
        self.conditions.setMaximumHeight(130)
        self.gathered = services.workflow.gathered_conditions(detail.id)
        self.conditions.setPlainText("\n".join(c.text for c in self.gathered))
        sources = ", ".join(c.source for c in self.gathered)
        self.sources = QLabel(f"Gathered from {sources}; edit as needed." if sources else
                              "No finding imposes a condition; write the conditions here.")
        self.sources.setWordWrap(True)
        theme.colour_text(self.sources, "muted")
        self.form.addRow("&Decision:", box)
        self.form.addRow("R&ationale:", self.rationale)
        self.form.addRow("&Conditions:", self.conditions)
        self.form.addRow("", self.sources)
        self.fields.update(decision=box, rationale=self.rationale, conditions=self.conditions)
        self.decisions.buttonToggled.connect(lambda _button, _on: self._decision_changed())
        self._decision_changed()

    def decision(self) -> Decision | None:
        return next((d for d, radio in self.radios.items() if radio.isChecked()), None)

    def _decision_changed(self) -> None:
        decision = self.decision()
        with_conditions = decision is Decision.CLEARED_WITH_CONDITIONS
        self.conditions.setEnabled(with_conditions)
        self.sources.setVisible(with_conditions)
        self.guard.hide()
        if decision is Decision.CLEARED:
            # the guard only: a placeholder rationale keeps the missing-input message out of it
            verdict = self.services.workflow.evaluate(self.actor, self.detail.id, Action.SUBMIT_RECOMMENDATION,
                                                      ActionInputs(decision=decision, rationale="-"))
            if not verdict:
                self.guard.setText(verdict.reason)
                self.guard.show()

    def work(self) -> Callable[[], Any]:
        decision = self.decision()
        if decision is None:
            raise InputRejected(Problem("choose a decision", field="decision"))
        rationale = self.rationale.toPlainText()
        conditions = _lines(self.conditions.toPlainText()) if decision is Decision.CLEARED_WITH_CONDITIONS else []
        workflow, actor, sid, version = self.services.workflow, self.actor, self.detail.id, self.detail.version
        return lambda: workflow.submit_recommendation(actor, sid, decision, rationale, conditions,
                                                      expected_version=version)


class WindowDialog(OperationDialog):
    def __init__(self, services: Services, actor: Actor, detail: SubmissionDetail,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Change the review window of {detail.reference}",
                         f"The window is {detail.window_days} days from receipt ({detail.received_at:%Y-%m-%d}), plus "
                         "the days the clock was paused. The change and its reason go into the audit trail.",
                         "&Change window", parent)
        self.services, self.actor, self.detail = services, actor, detail
        self.days = QSpinBox()
        self.days.setRange(1, 365)
        self.days.setSuffix(" days")
        self.days.setValue(detail.window_days)
        self.days.setAccessibleName("Review window in days")
        self.reason = _text_box("Reason", "Why this submission needs another window", height=70)
        self.form.addRow("&Window:", self.days)
        self.form.addRow("&Reason:", self.reason)
        self.fields.update(window_days=self.days, window_reason=self.reason)

    def work(self) -> Callable[[], Any]:
        days, reason = self.days.value(), self.reason.toPlainText()
        workflow, actor, sid, version = self.services.workflow, self.actor, self.detail.id, self.detail.version
        return lambda: workflow.change_window(actor, sid, days, reason, expected_version=version)


# == the controller ===========================================================================


class WorkflowController(QObject):
    """Opens the action and finding dialogs and announces what they saved."""


    def __init__(self, window: QWidget, services: Services, actor: Actor,
                 undo_stack: QUndoStack | None = None) -> None:
        super().__init__(window)
        self.window, self.services, self.actor = window, services, actor
        self.undo_stack = undo_stack if undo_stack is not None else QUndoStack(self)
        #: Set by the window to its letters flow: approving issues the signed letter, so it is the only way.
        self.approver: Callable[[int], bool] | None = None
        self.dialog: QDialog | None = None
        self.last_error: BaseException | None = None
        self._messages: list[QMessageBox] = []
        self.findings: Any = None  # the window's FindingActions (ui.review.findings), set by the window

    # -- state-machine actions -------------------------------------------------------------
    def perform(self, key: str, detail: SubmissionDetail) -> QDialog | None:
        """Open the dialog for `key` (an Action value or CHANGE_WINDOW) on the shown submission."""
        services, actor, parent = self.services, self.actor, self.window
        dialog: OperationDialog
        match key:
            case Action.ACCEPT_AND_ASSIGN.value | Action.REASSIGN.value:
                dialog = AssignDialog(services, actor, detail, reassign=key == Action.REASSIGN.value, parent=parent)
            case Action.REFUSE.value | Action.REQUEST_INFO.value | Action.RETURN.value | Action.WITHDRAW.value:
                dialog = TextActionDialog(services, actor, detail, key, parent)
            case Action.RECORD_INFO_RECEIVED.value:
                dialog = InfoReceivedDialog(services, actor, detail, parent)
            case Action.SUBMIT_RECOMMENDATION.value:
                dialog = RecommendDialog(services, actor, detail, parent)
            case Action.APPROVE.value:
                return self.approve(detail)
            case "change_window":
                dialog = WindowDialog(services, actor, detail, parent)
            case _:
                raise ValueError(f"unknown action {key!r}")
        return self.open(dialog, lambda result: Changes(detail.id, ChangeKind.WORKFLOW, getattr(result, "message", "")))

    def approve(self, detail: SubmissionDetail) -> QDialog | None:
        """Approve through the letters flow: it asks for the password and the signing key, and issues the letter."""
        if self.approver is None:
            self.report("Cannot approve", RuntimeError("Approval issues the signed letter; open the submission in "
                                                       "the main window to approve it."))
        elif self.approver(detail.id):
            bus().announce(Changes(detail.id, ChangeKind.WORKFLOW, f"{detail.reference} approved"))
        return None

    def open(self, dialog: OperationDialog, change: Callable[[Any], Changes | None]) -> OperationDialog:
        """Show `dialog` without blocking; when it saves, announce `change(result)`."""
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def saved(result: Any) -> None:
            made = change(result)
            if made is not None:
                bus().announce(made)

        dialog.succeeded.connect(saved)
        dialog.finished.connect(lambda _code: self._closed(dialog))
        dialog.open()
        return dialog

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def report(self, title: str, error: BaseException) -> None:
        """Show a failure outside any dialog (an undo that could not be saved) without blocking."""
        self.last_error = error
        log.info("%s: %s", title, error)
        box = QMessageBox(QMessageBox.Icon.Warning, title, problem_text(error), QMessageBox.StandardButton.Ok,
                          self.window)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.finished.connect(lambda _code: self._messages.remove(box) if box in self._messages else None)
        self._messages.append(box)
        box.open()

    def announce(self, change: Changes) -> None:
        bus().announce(change)


__all__ = ["CHANGE_WINDOW", "ActionPanel", "OperationDialog", "WorkflowController", "clock_summary"]
