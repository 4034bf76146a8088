"""The queue's filter controls: the sidebar of views with live counts, the filter bar,
saved filters, and the bulk-assign dialog.

What the queue shows is the sidebar's view (a state, "assigned to me", overdue, due
soon, or a saved filter's states) combined with the filter bar (assignee, due date,
developer, severity and the search text). A saved filter stores the whole combination;
choosing it puts its refinements back into the filter bar, where they stay visible and
editable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.types import Severity, SubmissionState
from desktop_app.services.queue import QueueCounts, QueueFilter, SavedFilterInfo

VIEW_ROLE = Qt.ItemDataRole.UserRole + 10
SAVED_ROLE = Qt.ItemDataRole.UserRole + 11
DUE_CHOICES = (3, 7, 14, 30)


def combine(view: QueueFilter, bar: QueueFilter) -> QueueFilter:
    """The sidebar's view AND the filter bar; the bar's explicit assignee wins."""
    due = [d for d in (view.due_within_days, bar.due_within_days) if d is not None]
    return replace(bar, states=view.states or bar.states,
                   assignee_id=bar.assignee_id if bar.assignee_id is not None else view.assignee_id,
                   overdue=view.overdue or bar.overdue, due_within_days=min(due) if due else None,
                   conditions=view.conditions or bar.conditions)


class QueueSidebar(QListWidget):
    """Views, states with live counts, and the user's saved filters."""

    delete_requested = Signal(object)  # SavedFilterInfo

    def __init__(self, user_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.user_id = user_id
        self.setAccessibleName("Queue views")
        self.setMinimumWidth(190)  # room for "Awaiting signoff  (12,345)"
        self.setMaximumWidth(280)
        self._labels: dict[str, str] = {}
        for label, key in (("All submissions", "all"), ("Assigned to me", "mine"), ("Overdue", "overdue"),
                           (f"Due within {DUE_SOON_DAYS} days", "week"),
                           *((state.label, f"state:{state.value}") for state in SubmissionState),
                           ("Conditions due", "conditions:due"), ("Conditions overdue", "conditions:overdue")):
            self._add(label, key)
        self.setCurrentRow(0)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

    def _add(self, label: str, key: str, saved: SavedFilterInfo | None = None) -> QListWidgetItem:
        item = QListWidgetItem(label)
        item.setData(VIEW_ROLE, key)
        if saved is not None:
            item.setData(SAVED_ROLE, saved)
            item.setToolTip(f"Saved filter “{saved.name}”")
        self._labels[key] = label
        self.addItem(item)
        return item

    def current_key(self) -> str:
        item = self.currentItem()
        return str(item.data(VIEW_ROLE)) if item is not None and item.data(VIEW_ROLE) else "all"

    def current_saved(self) -> SavedFilterInfo | None:
        item = self.currentItem()
        saved = item.data(SAVED_ROLE) if item is not None else None
        return saved if isinstance(saved, SavedFilterInfo) else None

    def view_filter(self) -> QueueFilter:
        """The current view's own part of the filter."""
        key = self.current_key()
        saved = self.current_saved()
        if saved is not None:
            return QueueFilter(states=saved.filter.states)
        if key.startswith("state:"):
            return QueueFilter(states=frozenset({SubmissionState(key.removeprefix("state:"))}))
        if key == "mine":
            return QueueFilter(assignee_id=self.user_id)
        if key == "overdue":
            return QueueFilter(overdue=True)
        if key == "week":
            return QueueFilter(due_within_days=DUE_SOON_DAYS)
        if key.startswith("conditions:"):
            return QueueFilter(conditions=key.removeprefix("conditions:"))
        return QueueFilter()

    def set_saved(self, saved: Sequence[SavedFilterInfo], *, select_id: int | None = None) -> None:
        """Replace the saved-filter rows (after the fixed views), keeping the selection if possible."""
        current = self.current_saved()
        keep_id = select_id if select_id is not None else (current.id if current else None)
        self.blockSignals(True)
        try:
            for row in reversed(range(self.count())):
                key = str(self.item(row).data(VIEW_ROLE) or "")
                if key.startswith("saved:") or key == "header:saved":
                    self.takeItem(row)
            if saved:
                header = QListWidgetItem("Saved filters")
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                header.setData(VIEW_ROLE, "header:saved")
                font = header.font()
                font.setBold(True)
                header.setFont(font)
                self.addItem(header)
            selected = None
            for info in saved:
                item = self._add(f"★ {info.name}", f"saved:{info.id}", info)
                if info.id == keep_id:
                    selected = item
            if selected is not None:
                self.setCurrentItem(selected)
            elif current is not None and self.currentRow() < 0:
                self.setCurrentRow(0)
        finally:
            self.blockSignals(False)

    def set_counts(self, counts: QueueCounts) -> None:
        numbers = {"all": counts.total, "mine": counts.mine, "overdue": counts.overdue, "week": counts.due_soon,
                   **{f"state:{state.value}": n for state, n in counts.states.items()},
                   "conditions:due": counts.conditions_due, "conditions:overdue": counts.conditions_overdue}
        for row in range(self.count()):
            item = self.item(row)
            key = str(item.data(VIEW_ROLE) or "")
            if key in numbers:
                item.setText(f"{self._labels[key]}  ({numbers[key]:,})")

    def _context_menu(self, position: object) -> None:
        item = self.itemAt(position)  # type: ignore[arg-type]
        saved = item.data(SAVED_ROLE) if item is not None else None
        if not isinstance(saved, SavedFilterInfo):
            return
        menu = QMenu(self)
        menu.addAction(f"Delete saved filter “{saved.name}”", lambda: self.delete_requested.emit(saved))
        menu.exec(self.viewport().mapToGlobal(position))  # type: ignore[arg-type]


class FilterBar(QWidget):
    """Search box and refinements above the queue; `changed` fires on any edit."""

    changed = Signal()
    text_edited = Signal()
    leave_requested = Signal()  # Down, Enter or Escape in the search box: back to the queue
    save_requested = Signal()

    def __init__(self, user_id: int, assignees: Sequence[tuple[int, str]], developers: Sequence[tuple[int, str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.user_id = user_id
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search reference, developer, model, summary, findings, evidence (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the queue")
        self.search.setToolTip("Every word must match the start of a word; at least two letters or digits a word")
        self.search.installEventFilter(self)
        self.search.textChanged.connect(lambda _text: self.text_edited.emit())

        self.assignee = self._combo("Assignee", [("Anyone", None), ("Me", user_id)]
                                    + [(name, uid) for uid, name in assignees if uid != user_id])
        self.due = self._combo("Due", [("Any due date", None), ("Overdue", "overdue")]
                               + [(f"Due within {d} days", d) for d in DUE_CHOICES])
        self.developer = self._combo("Developer", [("Any developer", None)] + [(n, i) for i, n in developers])
        self.severity = self._combo("Highest open severity", [("Any severity", None)] + [
            (s.value if s is Severity.CRITICAL else f"{s.value} or worse", s) for s in Severity])
        self.conditions = self._combo("Conditions of issued letters", [
            ("Any conditions", None), ("Conditions due", "due"), ("Conditions overdue", "overdue"),
            ("Conditions unresolved", "unresolved")])
        self.save_button = QToolButton()
        self.save_button.setText("Save…")
        self.save_button.setToolTip("Save this filter under a name (it appears in the sidebar)")
        self.save_button.clicked.connect(self.save_requested)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear the search and the refinements")
        self.clear_button.clicked.connect(self.clear)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        top = QHBoxLayout()  # beside the search box: the row below is already as wide as a laptop allows
        top.setSpacing(6)
        top.addWidget(self.search, 1)
        top.addWidget(self.conditions)
        layout.addLayout(top)
        row = QHBoxLayout()
        row.setSpacing(6)
        for combo in (self.assignee, self.due, self.developer, self.severity):
            row.addWidget(combo)
        row.addStretch(1)
        row.addWidget(self.clear_button)
        row.addWidget(self.save_button)
        layout.addLayout(row)

    def _combo(self, name: str, choices: Sequence[tuple[str, object]]) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.setToolTip(name)
        # As wide as ~14 characters, not as the longest developer name: the window must fit a
        # 1366-pixel screen; the open list is as wide as its entries.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(14)
        combo.setMaxVisibleItems(20)
        for label, value in choices:
            combo.addItem(label, value)
        combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)
        combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        return combo

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.search and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.leave_requested.emit()
                return True
            if key == Qt.Key.Key_Escape:
                if self.search.text():
                    self.search.clear()
                else:
                    self.leave_requested.emit()
                return True
        return super().eventFilter(watched, event)

    def refinements(self) -> QueueFilter:
        due = self.due.currentData()
        severity = self.severity.currentData()  # Qt hands a StrEnum back as its plain str
        return QueueFilter(assignee_id=self.assignee.currentData(), overdue=due == "overdue",
                           due_within_days=due if isinstance(due, int) else None,
                           developer_id=self.developer.currentData(),
                           min_severity=Severity(severity) if severity else None, text=self.search.text(),
                           conditions=self.conditions.currentData())

    def load(self, flt: QueueFilter) -> None:
        """Show a saved filter's refinements (quietly: the caller reloads once)."""
        widgets = (self.assignee, self.due, self.developer, self.severity, self.conditions, self.search)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            due: object = "overdue" if flt.overdue else flt.due_within_days
            for combo, value, label in ((self.assignee, flt.assignee_id, f"User {flt.assignee_id}"),
                                        (self.due, due, f"Due within {flt.due_within_days} days"),
                                        (self.developer, flt.developer_id, f"Developer {flt.developer_id}"),
                                        (self.severity, flt.min_severity.value if flt.min_severity else None, ""),
                                        (self.conditions, flt.conditions, "")):
                index = combo.findData(value)
                if index < 0 and value is not None:
                    combo.addItem(label, value)
                    index = combo.count() - 1
                combo.setCurrentIndex(max(index, 0))
            self.search.setText(flt.text)
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def clear(self) -> None:
        self.load(QueueFilter())
        self.changed.emit()


class BulkAssignDialog(QDialog):
    """Choose who takes the selected submissions."""

    def __init__(self, count: int, assignees: Sequence[tuple[int, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Assign submissions")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Assign the {count:,} selected submission{'s' if count != 1 else ''} to:"))
        self.assignee = QComboBox()
        self.assignee.setAccessibleName("Assignee")
        for uid, name in assignees:
            self.assignee.addItem(name, uid)
        layout.addWidget(self.assignee)
        note = QLabel("Only received, in-review and awaiting-information submissions are assigned; "
                      "the others are skipped. Each change is recorded in the audit trail.")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Assign")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def assignee_id(self) -> int | None:
        value = self.assignee.currentData()
        return int(value) if value is not None else None
