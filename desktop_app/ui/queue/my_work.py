""""My work": what is assigned to me, what awaits my sign-off, what is due this week, conditions to follow up.

A non-modal window beside the queue; activating a line selects that submission in the
main window. It re-reads the lists whenever the window announces a change.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.workflow import MyWork, WorkItem
from desktop_app.ui.common import icons
from desktop_app.ui.common import theme
from desktop_app.ui.operations import Changes, follow_changes

ID_ROLE = Qt.ItemDataRole.UserRole


def days_text(item: WorkItem) -> str:
    """Days left in words, never by colour alone."""
    if not item.state.is_open:
        return "—"
    if item.paused:
        return "paused"
    if item.days_left < 0:
        return f"{item.days_left} (overdue)"
    if item.days_left == 0:
        return "0 (due today)"
    return str(item.days_left)


class MyWorkDialog(QDialog):
    open_requested = Signal(int)

    SECTIONS = (("assigned", "Assigned to me"), ("awaiting_signoff", "Awaiting my sign-off"),
                ("due_this_week", f"Due within {DUE_SOON_DAYS} days"))

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.actor = services, actor
        self.setWindowTitle(f"My work — {actor.label}")
        self.resize(1000, 480)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("My work")
        self.tree.setColumnCount(7)
        self.tree.setHeaderLabels(["Reference", "Model", "Developer", "Status", "Due", "Days left", "Note"])
        self.tree.setRootIsDecorated(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemActivated.connect(self._activated)
        refresh = QPushButton("&Refresh")
        refresh.clicked.connect(self.refresh)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(refresh, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.work: MyWork | None = None
        self.refresh()
        theme.follow_palette(self, self.refresh)  # the overdue colour follows the palette
        self._stale = False
        follow_changes(self, self._changes)

    def _changes(self, changes: Changes) -> None:
        if changes.touches_submissions:
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - shown again: what changed meanwhile
        if self._stale:
            self.refresh()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        self._stale = True
        super().hideEvent(event)

    def refresh(self) -> None:
        self._stale = False
        try:
            self.work = self.services.workflow.my_work(self.actor)
        except ClearanceDeskError as error:
            self.intro.setText(html.escape(str(error)))
            self.tree.clear()
            return
        expanded = {self.tree.topLevelItem(i).data(0, ID_ROLE): self.tree.topLevelItem(i).isExpanded()
                    for i in range(self.tree.topLevelItemCount())}
        self.tree.clear()
        for key, title in self.SECTIONS:
            items: tuple[WorkItem, ...] = getattr(self.work, key)
            if key == "awaiting_signoff" and self.actor.role.value != "supervisor":
                continue
            top = QTreeWidgetItem([f"{title} ({len(items)})"])
            top.setData(0, ID_ROLE, key)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            top.setFirstColumnSpanned(True)
            self.tree.addTopLevelItem(top)
            for item in items:
                child = QTreeWidgetItem([item.reference, item.model, item.developer, item.state.label,
                                         item.due_date.isoformat(), days_text(item), item.note])
                child.setData(0, ID_ROLE, item.submission_id)
                child.setToolTip(6, item.note)
                if item.paused:
                    child.setIcon(5, icons.icon("paused"))
                elif item.state.is_open and item.days_left < 0:
                    child.setForeground(5, QBrush(theme.colour('overdue')))
                    child.setIcon(5, icons.icon("overdue"))
                elif item.state.is_open:  # the queue's icons: the meaning never rests on colour alone
                    child.setIcon(5, icons.icon("due-soon" if item.days_left <= 5 else "on-time"))
                top.addChild(child)
            top.setExpanded(expanded.get(key, True))
        conditions = self._conditions(expanded.get("conditions", True))
        for column in range(7):
            self.tree.resizeColumnToContents(column)
        total = sum(len(getattr(self.work, key)) for key, _ in self.SECTIONS) + conditions
        self.intro.setText("Nothing needs you right now." if not total else
                           "Double-click or press Enter on a line to open it in the queue.")

    def _conditions(self, expand: bool) -> int:
        """Conditions of issued letters due within DUE_SOON_DAYS days or overdue: mine, or everyone's for supervisors."""
        mine = None if self.actor.role.value == "supervisor" else self.actor.user_id
        try:
            rows = self.services.conditions.list(owner_id=mine, due=True, overdue=True)
        except ClearanceDeskError as error:
            rows, note = [], str(error)
        else:
            note = ""
        top = QTreeWidgetItem([f"Conditions due or overdue ({len(rows)})" + (f": {note}" if note else "")])
        top.setData(0, ID_ROLE, "conditions")
        font = top.font(0)
        font.setBold(True)
        top.setFont(0, font)
        top.setFirstColumnSpanned(True)
        self.tree.addTopLevelItem(top)
        for info in rows:
            days = f"{info.days_left} (overdue)" if info.overdue else ("0 (due today)" if info.days_left == 0
                                                                         else str(info.days_left))
            owner = "" if info.owner_id == self.actor.user_id else f"owner {info.owner}; "
            child = QTreeWidgetItem([f"{info.label} ({info.reference})", info.model, info.developer,
                                     f"Condition {info.status.value}", info.due_date.isoformat(), days,
                                     owner + info.text])
            child.setData(0, ID_ROLE, info.submission_id)
            child.setToolTip(6, info.text)
            if info.overdue:
                child.setForeground(5, QBrush(theme.colour('overdue')))
                child.setIcon(5, icons.icon("overdue"))
            else:
                child.setIcon(5, icons.icon("due-soon"))
            top.addChild(child)
        top.setExpanded(expand)
        return len(rows)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        submission_id = item.data(0, ID_ROLE)
        if isinstance(submission_id, int):
            self.open_requested.emit(submission_id)
