"""The queue table model: the sorted id list in memory, rows fetched a page at a time.

Sorting and filtering go to SQL through the queue service; only the pages the view
paints are materialised, so 100,000 submissions cost one id list and a few pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QIcon

from desktop_app.domain.types import Severity
from desktop_app.services.queue import QueueColumn, QueueFilter, QueueRow, QueueService
from desktop_app.ui import icons

PAGE_SIZE = 200
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_VALUE_ROLE = Qt.ItemDataRole.UserRole + 2

_Index = QModelIndex | QPersistentModelIndex


def days_left_text(row: QueueRow) -> str:
    if not row.is_open:
        return "—"
    if row.days_left < 0:
        return f"{row.days_left} (overdue)"
    if row.days_left == 0:
        return "0 (due today)"
    return str(row.days_left)


class QueueModel(QAbstractTableModel):
    def __init__(self, service: QueueService, parent: Any = None) -> None:
        super().__init__(parent)
        self.service = service
        self.filter = QueueFilter()
        self.sort_column = QueueColumn.DUE
        self.descending = False
        self._ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._pages: dict[int, list[QueueRow]] = {}

    # -- loading -----------------------------------------------------------------------
    def reload(self) -> None:
        """Re-run the id query (after a filter, sort or data change)."""
        ids = self.service.ordered_ids(self.filter, self.sort_column, self.descending)
        self.beginResetModel()
        self._ids = ids
        self._row_of = {sid: row for row, sid in enumerate(ids)}
        self._pages.clear()
        self.endResetModel()

    def set_filter(self, flt: QueueFilter) -> None:
        self.filter = flt
        self.reload()

    def row_for_id(self, submission_id: int) -> int | None:
        return self._row_of.get(submission_id)

    def id_at(self, row: int) -> int:
        return self._ids[row]

    def row_data(self, row: int) -> QueueRow | None:
        if not 0 <= row < len(self._ids):
            return None
        page = row // PAGE_SIZE
        rows = self._pages.get(page)
        if rows is None:
            ids = self._ids[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
            rows = self.service.rows(ids)
            if len(rows) != len(ids):  # a row vanished since the id query: keep positions stable
                by_id = {r.id: r for r in rows}
                rows = [by_id.get(i) or _missing_row(i) for i in ids]
            if len(self._pages) > 64:
                self._pages.clear()
            self._pages[page] = rows
        return rows[row - page * PAGE_SIZE]

    # -- Qt model interface ----------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(QueueColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(QueueColumn):
            if role == Qt.ItemDataRole.DisplayRole:
                return QueueColumn(section).title
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Sort by {QueueColumn(section).title.lower()}"
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(QueueColumn):
            return
        self.layoutAboutToBeChanged.emit()
        self.sort_column = QueueColumn(column)
        self.descending = order == Qt.SortOrder.DescendingOrder
        ids = self.service.ordered_ids(self.filter, self.sort_column, self.descending)
        self._ids = ids
        self._row_of = {sid: row for row, sid in enumerate(ids)}
        self._pages.clear()
        self.layoutChanged.emit()

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row_data(index.row())
        if row is None:
            return None
        column = QueueColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == ID_ROLE:
            return row.id
        if role == Qt.ItemDataRole.DecorationRole:
            return _decoration(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _foreground(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return _tooltip(row, column) or _display(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (QueueColumn.DAYS_LEFT, QueueColumn.OPEN_FINDINGS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _missing_row(submission_id: int) -> QueueRow:
    today = dt.date.today()
    from desktop_app.domain.types import SubmissionState

    return QueueRow(submission_id, "…", "", "", SubmissionState.RECEIVED, "", today, today, 0, None, 0, False, None)


def _display(row: QueueRow, column: QueueColumn) -> str:
    match column:
        case QueueColumn.REFERENCE:
            return row.reference
        case QueueColumn.DEVELOPER:
            return row.developer
        case QueueColumn.MODEL:
            return row.model
        case QueueColumn.STATUS:
            return row.state.label
        case QueueColumn.ASSIGNEE:
            return row.assignee or "Unassigned"
        case QueueColumn.RECEIVED:
            return row.received.isoformat()
        case QueueColumn.DUE:
            return row.due.isoformat() if row.is_open else "—"
        case QueueColumn.DAYS_LEFT:
            return days_left_text(row)
        case QueueColumn.SEVERITY:
            return row.severity.value if row.severity else "None"
        case QueueColumn.OPEN_FINDINGS:
            return str(row.open_findings)
        case QueueColumn.RELEASE_CONFLICT:
            return "Release before due date" if row.release_conflict else ""
    return ""


def _decoration(row: QueueRow, column: QueueColumn) -> QIcon | None:
    if column is QueueColumn.DAYS_LEFT and row.is_open:
        if row.days_left < 0:
            return icons.icon("overdue")
        if row.days_left <= 5:
            return icons.icon("due-soon")
        return icons.icon("on-time")
    if column is QueueColumn.RELEASE_CONFLICT and row.release_conflict:
        return icons.icon("conflict")
    if column is QueueColumn.SEVERITY and row.severity in (Severity.CRITICAL, Severity.HIGH):
        return icons.icon("severity-high")
    return None


_OVERDUE = QBrush(QColor("#b3261e"))
_SOON = QBrush(QColor("#8a5a00"))


def _foreground(row: QueueRow, column: QueueColumn) -> QBrush | None:
    if column is QueueColumn.DAYS_LEFT and row.is_open:
        if row.days_left < 0:
            return _OVERDUE
        if row.days_left <= 5:
            return _SOON
    if column is QueueColumn.RELEASE_CONFLICT and row.release_conflict:
        return _OVERDUE
    return None


def _tooltip(row: QueueRow, column: QueueColumn) -> str | None:
    if column is QueueColumn.DAYS_LEFT and row.is_open:
        if row.days_left < 0:
            return f"Overdue by {-row.days_left} day(s); was due {row.due.isoformat()}"
        return f"{row.days_left} day(s) left; due {row.due.isoformat()}"
    if column is QueueColumn.RELEASE_CONFLICT and row.release_conflict and row.intended_release:
        return (f"The developer intends to release on {row.intended_release.isoformat()}, "
                f"before the review is due on {row.due.isoformat()}")
    return None
