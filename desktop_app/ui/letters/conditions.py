"""The Conditions window: every condition of an issued letter, followed up until it is resolved.

A non-modal window beside the queue (View → Conditions…). The list shows each condition
with its owner, due date, days left and status, overdue ones marked by icon and words,
never by colour alone. The panel below shows the selected condition's text, evidence and
history and offers the actions the rules allow, each unavailable one explaining why.
Reads and writes run on worker threads; closing the last condition as met asks for the
password and the signing key, because it issues the signed "conditions met" notice.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QBrush, QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME
from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.conditions import ConditionAction, ConditionStatus, ConditionVerdict
from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.services.bundle import Services
from desktop_app.services.conditions import ConditionInfo
from desktop_app.services.context import Actor
from desktop_app.ui.common import icons, theme
from desktop_app.ui.common.errors import error_label, problem_text, show_error
from desktop_app.ui.operations import ChangeKind, Changes, bus, follow_changes
from desktop_app.ui.operations.dialog import OperationDialog
from desktop_app.ui.threads import run_task

ID_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Condition", "Submission", "Model", "Owner", "Due", "Days left", "Status", "Text")
#: (label, list() keyword arguments)
SHOWS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Unresolved", {"statuses": (ConditionStatus.OPEN, ConditionStatus.EVIDENCE_RECEIVED)}),
    (f"Due within {DUE_SOON_DAYS} days", {"due": True}),
    ("Overdue", {"overdue": True}),
    ("All conditions", {}),
    ("Closed", {"statuses": (ConditionStatus.MET, ConditionStatus.NOT_MET, ConditionStatus.WAIVED)}),
)


def days_text(info: ConditionInfo) -> str:
    """Days left in words (the meaning never rests on colour alone)."""
    if not info.status.is_unresolved:
        return "—"
    if info.overdue:
        return f"{info.days_left} (overdue)"
    if info.days_left == 0:
        return "0 (due today)"
    return str(info.days_left)


class ConditionsWindow(QWidget):
    """The list and the selected condition; `open_requested(submission_id)` asks the main window to show it."""

    open_requested = Signal(int)
    loaded = Signal(object)  # the list shown, after each refresh (tests and the screenshot script wait on it)

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None, *,
                 run: Callable[..., object] = run_task) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.services, self.actor, self._run = services, actor, run
        self.rows: list[ConditionInfo] = []
        self.current: ConditionInfo | None = None
        self.verdicts: dict[ConditionAction, ConditionVerdict] = {}
        self._generation = 0
        self.setWindowTitle(f"Conditions — {APP_NAME}")
        self.setWindowIcon(icons.icon("app"))
        self.resize(1180, 720)

        self.show_choice = QComboBox()
        self.show_choice.setAccessibleName("Show")
        for label, _kwargs in SHOWS:
            self.show_choice.addItem(label)
        self.show_choice.currentIndexChanged.connect(lambda _i: self.refresh())
        show_label = QLabel("&Show:")
        show_label.setBuddy(self.show_choice)
        self.mine = QCheckBox("&Mine only")
        self.mine.setToolTip("Only the conditions you own")
        self.mine.toggled.connect(lambda _on: self.refresh())
        refresh = QPushButton("&Refresh")
        refresh.clicked.connect(self.refresh)
        self.summary = QLabel("Loading…")
        self.summary.setAccessibleName("Conditions summary")
        top = QHBoxLayout()
        top.addWidget(show_label)
        top.addWidget(self.show_choice)
        top.addWidget(self.mine)
        top.addWidget(refresh)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)

        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Conditions")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.currentItemChanged.connect(lambda item, _previous: self._select(item))
        self.tree.itemActivated.connect(lambda _item, _column: self.open_submission())

        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setAccessibleName("Selected condition")
        self.error = error_label()
        self.buttons: dict[str, QPushButton] = {}
        actions = QGridLayout()
        for index, (key, label, slot) in enumerate((
                ("evidence", "Add &evidence file…", self.add_evidence),
                ("cite", "&Cite an artifact…", self.cite_artifact),
                ("met", "Mark &met…", self.mark_met),
                ("notice", "Close and issue &notice…", self.close_and_notify),
                ("not_met", "Mark &not met…", self.mark_not_met),
                ("waive", "&Waive…", self.waive),
                ("owner", "Change &owner…", self.change_owner),
                ("due", "Change &due date…", self.change_due),
                ("open", "Open &submission", self.open_submission))):
            button = QPushButton(label)
            button.clicked.connect(slot)
            button.setEnabled(False)
            self.buttons[key] = button
            actions.addWidget(button, index // 5, index % 5)
        panel = QWidget()
        panel_layout = QVBoxLayout(panel)
        panel_layout.setContentsMargins(0, 0, 0, 0)
        panel_layout.addWidget(self.detail, 1)
        panel_layout.addWidget(self.error)
        panel_layout.addLayout(actions)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(panel)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 320])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self, self.close)
        QShortcut(QKeySequence("Escape"), self, self.close)
        self.refresh()
        theme.follow_palette(self, self.refresh)  # the overdue colour follows the palette
        self._stale = False
        follow_changes(self, self._changes)

    def _changes(self, changes: Changes) -> None:
        """Conditions change with their own actions, open with a letter, are waived with its revocation
        and take evidence from an imported supplement."""
        if changes.what in (ChangeKind.CONDITIONS, ChangeKind.LETTERS, ChangeKind.INTAKE):
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - shown again: what changed meanwhile
        if self._stale:
            self._stale = False
            self.refresh()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        self._stale = True
        super().hideEvent(event)

    # -- loading -------------------------------------------------------------------------
    def refresh(self, keep_id: int | None = None) -> None:
        """Read the list on a worker; only the newest answer is shown."""
        self._generation += 1
        generation = self._generation
        keep = keep_id if keep_id is not None else (self.current.id if self.current else None)
        kwargs = dict(SHOWS[self.show_choice.currentIndex()][1])
        if self.mine.isChecked():
            kwargs["owner_id"] = self.actor.user_id
        conditions = self.services.conditions

        def work() -> tuple[list[ConditionInfo], Any]:
            return conditions.list(**kwargs), conditions.counts()

        self._run(work, on_done=lambda result: self._show(generation, result, keep),
                  on_error=lambda error: self._failed(generation, error), owner=self)

    def _failed(self, generation: int, error: Exception) -> None:
        if generation == self._generation:
            self.summary.setText(f"Could not read the conditions: {problem_text(error)}")

    def _show(self, generation: int, result: tuple[list[ConditionInfo], Any], keep: int | None) -> None:
        if generation != self._generation:
            return
        rows, counts = result
        self.rows = rows
        self.summary.setText(f"{counts.due:,} due within {DUE_SOON_DAYS} days · {counts.overdue:,} overdue · "
                             f"{counts.total:,} conditions in all")
        self.tree.blockSignals(True)
        self.tree.clear()
        chosen = None
        for info in rows:
            item = QTreeWidgetItem([info.label, info.reference, info.model, info.owner, info.due_date.isoformat(),
                                    days_text(info), info.status.label, info.text])
            item.setData(0, ID_ROLE, info.id)
            item.setToolTip(0, info.text)
            if info.overdue:
                item.setIcon(5, icons.icon("overdue"))
                item.setForeground(5, QBrush(theme.colour("overdue")))
            elif info.due_soon:
                item.setIcon(5, icons.icon("due-soon"))
            elif info.status is ConditionStatus.MET:
                item.setIcon(6, icons.icon("check-pass"))
            elif info.status is ConditionStatus.NOT_MET:
                item.setIcon(6, icons.icon("check-fail"))
            self.tree.addTopLevelItem(item)
            if info.id == keep:
                chosen = item
        for column in range(len(COLUMNS) - 1):  # the text takes what is left
            self.tree.resizeColumnToContents(column)
        self.tree.blockSignals(False)
        if chosen is None and self.tree.topLevelItemCount():
            chosen = self.tree.topLevelItem(0)
        if chosen is not None:
            self.tree.setCurrentItem(chosen)
            self._select(chosen)
        else:
            self._select(None)
        self.loaded.emit(rows)

    def _select(self, item: QTreeWidgetItem | None) -> None:
        self.error.hide()
        condition_id = item.data(0, ID_ROLE) if item is not None else None
        self.current = next((info for info in self.rows if info.id == condition_id), None)
        if self.current is None:
            self.detail.setText("No condition selected." if not self.rows else "")
            for button in self.buttons.values():
                button.setEnabled(False)
            return
        info = self.current
        try:
            self.verdicts = self.services.conditions.verdicts(self.actor, info.id)
            history = self.services.conditions.history(info.id)
        except Exception as error:  # noqa: BLE001 - shown, never a traceback
            self.verdicts, history = {}, []
            show_error(self.error, error)
        self.detail.setText(_describe(info, history))
        self._offer()

    def _offer(self) -> None:
        """Enable what the rules allow now; a disabled button says why in its tooltip."""
        v = self.verdicts
        met = v.get(ConditionAction.MARK_MET, ConditionVerdict(False, ""))
        offers = {
            "evidence": v.get(ConditionAction.ADD_EVIDENCE),
            "cite": v.get(ConditionAction.ADD_EVIDENCE),
            "met": ConditionVerdict(False, "This is the last condition: close it and issue the notice.")
            if met.issues_notice else met,
            "notice": met if met.issues_notice else ConditionVerdict(
                False, met.reason or "Only the last unresolved condition, with every other one met or waived, "
                                     "closes the letter with a notice."),
            "not_met": v.get(ConditionAction.MARK_NOT_MET),
            "waive": v.get(ConditionAction.WAIVE),
            "owner": v.get(ConditionAction.REASSIGN),
            "due": v.get(ConditionAction.CHANGE_DUE),
        }
        for key, verdict in offers.items():
            allowed = bool(verdict)
            self.buttons[key].setEnabled(allowed)
            self.buttons[key].setToolTip("" if allowed else (verdict.reason if verdict is not None else ""))
        self.buttons["open"].setEnabled(True)

    # -- actions -----------------------------------------------------------------------
    def _do(self, work: Callable[[], object], message: str = "") -> None:
        info = self.current
        if info is None:
            return
        self.error.hide()
        for button in self.buttons.values():
            button.setEnabled(False)

        def done(_result: object) -> None:
            bus().announce(Changes(info.submission_id, ChangeKind.CONDITIONS, message))

        def failed(error: Exception) -> None:
            show_error(self.error, error)
            self._offer()

        self._run(work, on_done=done, on_error=failed, owner=self)

    def add_evidence(self) -> None:
        info = self.current
        if info is None:
            return
        path, _filter = QFileDialog.getOpenFileName(self, f"Evidence for {info.label}")
        if not path:
            return
        conditions, actor = self.services.conditions, self.actor
        self._do(lambda: conditions.attach_file(actor, info.id, Path(path)))

    def cite_artifact(self) -> None:
        """Cite one of the submission's artifacts (a supplement's too) as evidence."""
        info = self.current
        if info is None:
            return
        choices = self.services.conditions.artifacts(info.id)
        if not choices:
            return
        paths = [path for _id, path in choices]
        path, ok = QInputDialog.getItem(self, f"Evidence for {info.label}", "Artifact of the submission:", paths,
                                        len(paths) - 1, False)
        if ok and path:
            artifact_id = choices[paths.index(path)][0]
            conditions, actor = self.services.conditions, self.actor
            self._do(lambda: conditions.cite_artifact(actor, info.id, artifact_id))

    def mark_met(self) -> None:
        info = self.current
        if info is None:
            return
        note, ok = QInputDialog.getMultiLineText(self, f"Mark {info.label} met",
                                                 "What the evidence shows (optional, recorded with the change):")
        if ok:
            conditions, actor = self.services.conditions, self.actor
            self._do(lambda: conditions.mark_met(actor, info.id, note=note, expected_version=info.version))

    def mark_not_met(self) -> None:
        self._with_reason("Mark {label} not met", "Why the condition is not met (required):",
                          lambda info, reason: self.services.conditions.mark_not_met(
                              self.actor, info.id, reason, expected_version=info.version))

    def waive(self) -> None:
        self._with_reason("Waive {label}", "Why the agency waives this condition (required):",
                          lambda info, reason: self.services.conditions.waive(
                              self.actor, info.id, reason, expected_version=info.version))

    def _with_reason(self, title: str, prompt: str, act: Callable[[ConditionInfo, str], object]) -> None:
        info = self.current
        if info is None:
            return
        reason, ok = QInputDialog.getMultiLineText(self, title.format(label=info.label), prompt)
        if ok:
            self._do(lambda: act(info, reason))

    def change_owner(self) -> None:
        info = self.current
        if info is None:
            return
        people = [(uid, name) for uid, name in self.services.queue.assignees()]
        names = [name for _uid, name in people]
        current = names.index(info.owner) if info.owner in names else 0
        name, ok = QInputDialog.getItem(self, f"Owner of {info.label}", "Who follows this condition up:", names,
                                        current, False)
        if ok and name:
            owner_id = people[names.index(name)][0]
            conditions, actor = self.services.conditions, self.actor
            self._do(lambda: conditions.reassign(actor, info.id, owner_id, expected_version=info.version))

    def change_due(self) -> None:
        info = self.current
        if info is None:
            return
        dialog = DueDateDialog(info, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            due, reason = dialog.values()
            conditions, actor = self.services.conditions, self.actor
            self._do(lambda: conditions.change_due(actor, info.id, due, reason, expected_version=info.version))

    def close_and_notify(self) -> None:
        info = self.current
        if info is None:
            return
        dialog = ConditionsMetDialog(self.services, self.actor, info, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.issued is not None:
            bus().announce(Changes(info.submission_id, ChangeKind.CONDITIONS,
                                   f"{info.label} met; notice {dialog.issued.number} issued and registered"))

    def open_submission(self) -> None:
        if self.current is not None:
            self.open_requested.emit(self.current.submission_id)


def _describe(info: ConditionInfo, history: Sequence[tuple[str, str, str, str]] = ()) -> str:
    e = html.escape
    lines = [f"<b>{e(info.label)}</b> — {e(info.reference)}, {e(info.developer)}, {e(info.model)}",
             f"<i>{e(info.text)}</i>",
             f"Owner: {e(info.owner)} · Due {info.due_date.isoformat()} ({e(_when(info))}) · "
             f"Status: <b>{e(info.status.label)}</b>"]
    if info.status_reason:
        lines.append(f"Reason: {e(info.status_reason)}")
    if info.evidence:
        lines.append(f"Evidence ({len(info.evidence)}):")
        for item in info.evidence:
            source = f"supplement {item.package_id}, " if item.package_id else ""
            digest = f" — SHA-256 {item.sha256[:16]}…" if item.sha256 else ""
            lines.append(f"&nbsp;&nbsp;• {e(item.title)} ({e(source)}added by {e(item.attached_by)}, "
                         f"{item.attached_at:%Y-%m-%d}){digest}")
    else:
        lines.append("No evidence yet: attach a file, or the developer sends a supplement that cites this "
                     "condition (responds_to_condition).")
    if history:
        lines.append(f"History ({len(history)}):")
        for when, actor, action, what in history:
            lines.append(f"&nbsp;&nbsp;{e(when)} UTC · {e(actor)} · {e(action.removeprefix('condition.'))}"
                         + (f" — {e(what if len(what) <= 140 else what[:139] + '…')}" if what else ""))
    return "<br>".join(lines)


def _when(info: ConditionInfo) -> str:
    if not info.status.is_unresolved:
        return "closed" + (f" {info.closed_at:%Y-%m-%d}" if info.closed_at else "")
    days = abs(info.days_left)
    plural = "s" if days != 1 else ""
    if info.overdue:
        return f"overdue by {days} day{plural}"
    return "due today" if days == 0 else f"due in {days} day{plural}"


class DueDateDialog(QDialog):
    """A new due date and why (a supervisor's change, audited)."""

    def __init__(self, info: ConditionInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Due date of {info.label}")
        self.date = QDateEdit(QDate(info.due_date.year, info.due_date.month, info.due_date.day))
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setAccessibleName("New due date")
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setPlaceholderText("for example: the date agreed with the developer")
        form = QFormLayout()
        form.addRow("New &due date:", self.date)
        form.addRow("&Reason:", self.reason)
        self.error = error_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def values(self) -> tuple[dt.date, str]:
        return self.date.date().toPython(), self.reason.text().strip()

    def _accept(self) -> None:
        if not self.reason.text().strip():
            show_error(self.error, InputRejected(Problem("say why the due date changes", field="reason")))
            return
        self.accept()


class ConditionsMetDialog(OperationDialog):
    """Close the last condition as met: the password and the signing key, then the signed notice.

    The busy state and failures are the operation dialog's (ui.operations.dialog); the
    secret fields are cleared after each attempt.
    """

    def __init__(self, services: Services, actor: Actor, info: ConditionInfo, parent: QWidget | None = None) -> None:
        from desktop_app.ui.letters.signing import KeySourceWidget

        super().__init__("Close the last condition and sign the notice",
                         f"<b>{html.escape(info.label)}</b> is the last unresolved condition of "
                         f"{html.escape(info.letter_number)}. Marking it met issues a signed notice to "
                         f"{html.escape(info.developer)} that the conditions of the clearance are met, registered "
                         f"like any letter.", "Mark met, &sign and issue", parent)
        self.services, self.actor, self.info = services, actor, info
        self.issued: Any = None
        self.setMinimumWidth(600)
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("What the evidence shows (optional, recorded with the change)")
        self.note.setMaximumHeight(70)
        self.key = KeySourceWidget(parent=self)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Your account password")
        self.content.insertWidget(self.content.indexOf(self.form), self.note)
        self.content.insertWidget(self.content.indexOf(self.form), self.key)
        self.form.addRow("Account pass&word:", self.password)
        self.sign_button = self.ok_button
        self.sign_button.setDefault(True)
        self.fields.update({"note": self.note, "key file": self.key.p12_path, "module": self.key.module,
                            "token label": self.key.token_label, "key label": self.key.key_label,
                            "PIN": self.key.pin, "account password": self.password})
        self.succeeded.connect(self._issued)

    def sign(self) -> None:
        self.submit()

    def work(self) -> Callable[[], Any]:
        source, secret = self.key.source()
        if not self.password.text():
            raise InputRejected(Problem("enter your account password to confirm", field="account password"))
        password, note = self.password.text(), self.note.toPlainText()
        self.key.clear_secrets()
        self.password.clear()
        self.key.remember()
        conditions, actor, condition_id = self.services.conditions, self.actor, self.info.id
        return lambda: conditions.close_last_as_met(actor, condition_id, password=password, source=source,
                                                    secret=secret, note=note)

    def _issued(self, issued: Any) -> None:
        self.issued = issued

    def reject(self) -> None:
        if not self.running:
            self.key.clear_secrets()
            self.password.clear()
        super().reject()
