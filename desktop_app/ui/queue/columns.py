"""Which queue columns show, and how wide: the header's column chooser.

At 1366 px the queue shares the window with the sidebar and the detail pane, so by
default it shows what a reviewer triages by — reference, model, status, assignee, days
left, highest open severity, release conflict — and hides developer, received, due and
open findings; a right click on the header brings any of them back. The choice is kept
in QSettings with the rest of the header's state.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QSettings, Qt
from PySide6.QtWidgets import QHeaderView, QMenu, QTableView

from desktop_app.services.queue import QueueColumn

#: Hidden until the user shows them (right click on the header).
DEFAULT_HIDDEN = frozenset({QueueColumn.DEVELOPER, QueueColumn.RECEIVED, QueueColumn.DUE, QueueColumn.OPEN_FINDINGS})
#: The column that is never hidden: a row must say which submission it is.
ALWAYS_SHOWN = QueueColumn.REFERENCE
WIDTHS = {QueueColumn.REFERENCE: 104, QueueColumn.DEVELOPER: 140, QueueColumn.MODEL: 110, QueueColumn.STATUS: 100,
          QueueColumn.ASSIGNEE: 120, QueueColumn.RECEIVED: 84, QueueColumn.DUE: 84, QueueColumn.DAYS_LEFT: 112,
          QueueColumn.SEVERITY: 96, QueueColumn.OPEN_FINDINGS: 95}
#: Room around a name in a cell (margins and the sort arrow), in pixels; and the widest it gets.
NAME_PADDING = 24
NAME_WIDTH_MAX = 240


def set_up_columns(view: QTableView, settings_key: str) -> None:
    """Default widths and visibility, then the header's context menu that keeps the choice in `settings_key`."""
    header = view.horizontalHeader()
    for column, width in WIDTHS.items():
        view.setColumnWidth(column, width)
    for column in DEFAULT_HIDDEN:
        header.setSectionHidden(column, True)
    header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    header.customContextMenuRequested.connect(
        lambda position: column_menu(header, lambda: QSettings().setValue(settings_key, header.saveState()))
        .popup(header.mapToGlobal(position)))


def column_menu(header: QHeaderView, remember: Callable[[], None]) -> QMenu:
    """One checkable entry per column; unchecking hides it (Reference stays)."""
    menu = QMenu(header)
    menu.setTitle("Columns")
    for column in QueueColumn:
        entry = menu.addAction(column.title)
        entry.setCheckable(True)
        entry.setChecked(not header.isSectionHidden(column))
        entry.setEnabled(column is not ALWAYS_SHOWN)

        def toggled(shown: bool, column: QueueColumn = column) -> None:
            header.setSectionHidden(column, not shown)
            if shown and header.sectionSize(column) < 40:
                header.resizeSection(column, WIDTHS.get(column, 100))
            remember()

        entry.toggled.connect(toggled)
    menu.addSeparator()
    menu.addAction("Show the default columns").triggered.connect(lambda: (_defaults(header), remember()))
    return menu


def _defaults(header: QHeaderView) -> None:
    for column in QueueColumn:
        header.setSectionHidden(column, column in DEFAULT_HIDDEN)


def fit_names(view: QTableView, model: QAbstractItemModel, column: QueueColumn = QueueColumn.ASSIGNEE) -> None:
    """Widen `column` so the names in the rows on screen are not cut (never narrows it)."""
    header = view.horizontalHeader()
    if header.isSectionHidden(column) or model.rowCount() == 0:
        return
    first = max(view.rowAt(0), 0)
    last = view.rowAt(view.viewport().height() - 1)
    last = model.rowCount() - 1 if last < 0 else last
    metrics = view.fontMetrics()
    widest = max((metrics.horizontalAdvance(str(model.index(row, column).data() or ""))
                  for row in range(first, min(last, first + 200) + 1)), default=0)
    wanted = min(widest + NAME_PADDING, NAME_WIDTH_MAX)
    if wanted > header.sectionSize(column):
        header.resizeSection(column, wanted)


__all__ = ["DEFAULT_HIDDEN", "column_menu", "fit_names", "set_up_columns"]
