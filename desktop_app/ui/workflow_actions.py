"""The review workflow in the window: the action panel, one dialog per action, and the controller.

The panel shows only the actions the signed-in user may take now (the service's
verdicts, the same rules it enforces) and says in words why the others are not
offered. Each dialog collects its action's inputs and runs the service call off the GUI
thread (`OperationDialog`); a refusal or rejected input is shown inside the dialog, so
the user can correct it without starting over.

`WorkflowController` opens the dialogs (non-blocking, so tests and the window stay
responsive) and announces every saved change with `changed(Change)`; the window
listens and refreshes the queue row and the detail, keeping the selection.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QDate, QObject, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, Problem
from desktop_app.domain.types import Decision
from desktop_app.domain.workflow import Action, ActionInputs, Verdict, next_state
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.submissions import SubmissionDetail
from desktop_app.services.workflow import ActionChoices
from desktop_app.ui.workers import run_task
from desktop_app.ui import theme
from desktop_app.ui.dialogs import error_label, problem_text, show_error

log = logging.getLogger("clearance_desk.ui")

#: The window-change "action": not part of the state machine, offered beside it.
CHANGE_WINDOW = "change_window"
#: Button order: the review's main path first, then the occasional actions.
PANEL_ORDER: tuple[Action | str, ...] = (
    Action.ACCEPT_AND_ASSIGN, Action.REQUEST_INFO, Action.RECORD_INFO_RECEIVED, Action.SUBMIT_RECOMMENDATION,
    Action.APPROVE, Action.RETURN, Action.REASSIGN, CHANGE_WINDOW, Action.REFUSE, Action.WITHDRAW,
)
#: Actions offered on the Findings tab instead of the panel.
FINDING_ACTIONS = (Action.ADD_FINDING, Action.EDIT_FINDINGS)


def action_key(action: Action | str) -> str:
    return action.value if isinstance(action, Action) else action


def button_text(action: Action | str) -> str:
    if action == CHANGE_WINDOW:
        return "Change review window…"
    assert isinstance(action, Action)
    return f"{action.label}…"


@dataclass(frozen=True)
class Change:
    """What a saved change touched, for views deciding whether to refresh."""

    submission_id: int
    what: str  # "workflow", "finding", "evidence"
    message: str = ""


# == the panel ================================================================================


class FlowLayout(QLayout):
    """Lays widgets out left to right, wrapping to the next line when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802
        self._items.append(item)

    def addWidget(self, widget: QWidget) -> None:  # noqa: N802
        self.addChildWidget(widget)
        self._items.append(QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and line > 0:
                x, y, line = rect.x(), y + line + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            line = max(line, hint.height())
        return y + line - rect.y()


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
        self.unavailable.setStyleSheet(f"color: {theme.colour('muted').name()};")
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
        self.others.setStyleSheet(f"color: {theme.colour('muted').name()};")
        self.others.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        for widget in (self.summary, self.buttons_host, self.unavailable, self.others_toggle, self.others):
            layout.addWidget(widget)
        self.reasons: dict[str, str] = {}

    def clear(self) -> None:
        for button in self.buttons.values():
            self.flow.removeWidget(button)
            button.deleteLater()
        self.buttons.clear()
        self.reasons.clear()
        self.summary.clear()
        self.unavailable.clear()
        self.others.clear()
        self.others_toggle.hide()

    def show_choices(self, detail: SubmissionDetail, choices: ActionChoices) -> None:
        self.clear()
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
            button.setToolTip(_TIPS.get(key, ""))
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




class OperationDialog(QDialog):
    """A form whose OK runs one service call off the GUI thread; failures stay in the dialog.

    Subclasses build their rows in `self.form`, register input widgets in `self.fields`
    (by the field name the service reports problems under) and implement `work()`,
    which reads the widgets on the GUI thread and returns the call to run.
    """

    succeeded = Signal(object)

    def __init__(self, title: str, intro: str = "", ok_text: str = "OK", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self.result_value: Any = None
        self.fields: dict[str, QWidget] = {}
        self.form = QFormLayout()
        self.error = error_label()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if intro:
            note = QLabel(intro)
            note.setWordWrap(True)
            note.setObjectName("introLabel")
            layout.addWidget(note)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)

    def work(self) -> Callable[[], Any]:
        raise NotImplementedError

    def submit(self) -> None:
        if self.busy.isVisible():
            return
        self.error.hide()
        try:
            call = self.work()
        except ClearanceDeskError as error:
            self._failed(error)
            return
        self._set_busy(True)
        run_task(call, on_done=self._done, on_error=self._failed)

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.buttons.setEnabled(not busy)
        for widget in self.fields.values():
            widget.setEnabled(not busy)

    def _done(self, result: Any) -> None:
        self._set_busy(False)
        self.result_value = result
        self.succeeded.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        show_error(self.error, error)
        if isinstance(error, InputRejected):
            for problem in error.problems:
                widget = self.fields.get(problem.field or "")
                if widget is not None:
                    widget.setFocus()
                    break

    def reject(self) -> None:
        if self.busy.isVisible():  # a save in flight finishes or fails on its own
            return
        super().reject()


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
        self.guard.setStyleSheet(f"color: {theme.colour('error').name()};")
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
        self.sources.setStyleSheet(f"color: {theme.colour('muted').name()};")
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

    changed = Signal(object)  # Change

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
        from desktop_app.ui.findings_editor import FindingActions

        self.findings = FindingActions(self)

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
        return self.open(dialog, lambda result: Change(detail.id, "workflow", getattr(result, "message", "")))

    def approve(self, detail: SubmissionDetail) -> QDialog | None:
        """Approve through the letters flow: it asks for the password and the signing key, and issues the letter."""
        if self.approver is None:
            self.report("Cannot approve", RuntimeError("Approval issues the signed letter; open the submission in "
                                                       "the main window to approve it."))
        elif self.approver(detail.id):
            self.changed.emit(Change(detail.id, "workflow", f"{detail.reference} approved"))
        return None

    def open(self, dialog: OperationDialog, change: Callable[[Any], Change | None]) -> OperationDialog:
        """Show `dialog` without blocking; when it saves, announce `change(result)`."""
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def saved(result: Any) -> None:
            made = change(result)
            if made is not None:
                self.changed.emit(made)

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

    def announce(self, change: Change) -> None:
        self.changed.emit(change)


__all__ = ["CHANGE_WINDOW", "ActionPanel", "Change", "OperationDialog", "WorkflowController", "clock_summary"]
