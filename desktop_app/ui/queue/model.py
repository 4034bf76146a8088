"""The queue table model: the sorted id list in memory, rows fetched a page at a time.

Sorting, filtering and search go to SQL through the queue service; only the pages the
view paints are materialised, so 100,000 submissions cost one id list (under a
megabyte) and a few pages of 200 rows. On a large queue the id query runs on a worker
thread and the GUI thread only swaps the list in, so typing in the search box never
freezes the window; a small queue is reloaded in place (simpler, and instant anyway).

Around every swap the model emits `about_to_reload` and `reloaded`, so the view can
keep its selection, current row and scroll position by submission id
(`SelectionKeeper`), and `HighlightDelegate` marks the search hits in the cells.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyledItemDelegate, QTableView

from desktop_app.domain.types import Severity, SubmissionState
from desktop_app.services.queue import QueueColumn, QueueFilter, QueueRow, QueueService
from desktop_app.services.search import SearchQuery
from desktop_app.ui.common import icons, theme
from desktop_app.ui.threads import IDS_PRIORITY, QUEUE, run_task

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStyleOptionViewItem

log = logging.getLogger("clearance_desk.ui")

PAGE_SIZE = 200
MATCH_BLOCK = 50  # rows whose hidden search hits are read together (about a screenful)
MAX_PAGES = 10  # pages kept (2,000 rows): scrolling back is mostly free, memory stays small
#: From this many submissions on, id queries run on a worker thread.
BACKGROUND_ROWS = 20_000
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_VALUE_ROLE = Qt.ItemDataRole.UserRole + 2
#: The columns whose text the search matches (and the delegate highlights).
SEARCHED_COLUMNS = (QueueColumn.REFERENCE, QueueColumn.DEVELOPER, QueueColumn.MODEL)

_Index = QModelIndex | QPersistentModelIndex
_COLUMNS = tuple(QueueColumn)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ANSWERED = frozenset({_DISPLAY, _DECORATION, _FOREGROUND, _ALIGNMENT, _TOOLTIP, Qt.ItemDataRole.AccessibleTextRole,
                       ID_ROLE})
_RIGHT_ALIGNED = frozenset({QueueColumn.DAYS_LEFT.value, QueueColumn.OPEN_FINDINGS.value})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def is_paused(row: QueueRow) -> bool:
    """Awaiting information: the review clock is stopped (issue 4), so days left do not count down."""
    return row.state is SubmissionState.AWAITING_INFO


def days_left_text(row: QueueRow) -> str:
    if not row.is_open:
        return "—"
    if is_paused(row):
        return "paused"
    if row.days_left < 0:
        return f"{row.days_left} (overdue)"
    if row.days_left == 0:
        return "0 (due today)"
    return str(row.days_left)


@dataclass(frozen=True)
class _Request:
    """One id query: what to show, and when it was asked for (for the latency log)."""

    filter: QueueFilter
    sort: QueueColumn
    descending: bool
    asked: float
    recount: bool = False

    @property
    def key(self) -> tuple[QueueFilter, QueueColumn, bool]:
        return self.filter, self.sort, self.descending

    @property
    def base_key(self) -> tuple[QueueFilter, QueueColumn, bool]:
        """The same query without its search text (its answer is what a search narrows)."""
        return replace(self.filter, text=""), self.sort, self.descending


class FirstPage(Sequence[int]):
    """The ids of a large queue while only its first page is known: as long as the whole list.

    Rows past the first page have no id yet (IndexError, and `QueueModel.known_id` is
    None); they paint blank for the few milliseconds until the whole list is swapped in.
    """

    def __init__(self, head: Sequence[int], length: int) -> None:
        self._head, self._length = head, length

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]  # noqa: ANN001, ANN204
        if isinstance(index, slice):
            return self._head[slice(*index.indices(len(self._head)))]
        if -self._length <= index < 0:
            index += self._length
        if not 0 <= index < len(self._head):
            raise IndexError(index)
        return self._head[index]

    def index(self, value: int, start: int = 0, stop: int | None = None) -> int:
        return self._head.index(value, start, len(self._head) if stop is None else stop)

    def __iter__(self) -> Iterator[int]:
        return iter(self._head)

    @property
    def known(self) -> int:
        """How many ids are known: the first page's."""
        return len(self._head)

    def heads(self, ids: Sequence[int]) -> bool:
        """`ids` begins with this first page: its rows, read already, stay valid in the whole list."""
        return len(ids) >= len(self._head) and list(ids[:len(self._head)]) == list(self._head)


def run_queue_task(fn: Callable[[], Any], *, on_done: Callable[[Any], None],
                   on_error: Callable[[Exception], None], priority: int = IDS_PRIORITY,
                   owner: QObject | None = None) -> None:
    """A queue read on the queue's own worker (ui.threads.QUEUE)."""
    run_task(fn, on_done=on_done, on_error=on_error, owner=owner, pool_name=QUEUE, priority=priority)


class QueueModel(QAbstractTableModel):
    about_to_reload = Signal()
    reloaded = Signal(float)  # milliseconds from the request to the new rows being in place
    failed = Signal(object)

    def __init__(self, service: QueueService, parent: QObject | None = None, *,
                 background_rows: int | None = None,
                 run_in_background: Callable[..., Any] | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.filter = QueueFilter()
        self.sort_column = QueueColumn.DUE
        self.descending = False
        self.search_query = SearchQuery()
        self._search_text = ""
        #: From this many rows the queue loads on a worker (BACKGROUND_ROWS unless given).
        self.background_rows = BACKGROUND_ROWS if background_rows is None else background_rows
        self._run_in_background = run_in_background
        self._ids: Sequence[int] = array("q")
        self._pages: OrderedDict[int, list[tuple[QueueRow, tuple[str, ...]]]] = OrderedDict()
        self._matches: dict[int, str] = {}
        self._match_pages: set[int] = set()
        self._total = 0
        self._running: _Request | None = None
        self._pending: _Request | None = None
        #: The first load's whole id list, when it waits for the first paint (`load_rest`).
        self._deferred: _Request | None = None
        #: The id list without the search text (key, ids): typing searches within it.
        self._base: tuple[tuple[QueueFilter, QueueColumn, bool], Sequence[int]] | None = None
        #: While True, sort and filter changes are only noted (the window sets up, then loads once).
        self.hold = False
        #: The id of the row the view will keep in place across a reload (set by SelectionKeeper):
        #: the worker reads that row's page along with the ids, so the repaint reads nothing.
        self.anchor_hint: Callable[[], int | None] = lambda: None

    # -- loading -----------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self._running is not None or self._pending is not None or self._deferred is not None

    @property
    def in_background(self) -> bool:
        return self._total >= self.background_rows

    def reload_first_page(self, *, rest_later: bool = False) -> None:
        """The first load: a large queue shows its first page now and reads the rest on the worker.

        The first page and the number of matching rows are two small indexed queries, so
        the window paints at once; the whole id list (~35 ms at 100,000 rows) follows
        and is swapped in like any reload (selection and scroll kept). With `rest_later`
        it waits for `load_rest`: the window calls it once its first page is painted,
        since a worker running Python (the list's rows and the next page) beside the first
        layout and paint slowed them by ~70 ms, as each Qt call waited for the lock.
        """
        self._total = self.service.total()
        if not self.in_background:
            self.reload()
            return
        request = self._request()
        head, count = self.service.first_ids(request.filter, request.sort, request.descending, PAGE_SIZE)
        if len(head) == count:
            self._base = None if request.filter.text else (request.base_key, head)
            self._apply(request, head)
            return
        self._apply(request, FirstPage(head, count))
        if rest_later:
            self._deferred = request
        else:
            self._start(request)

    def load_rest(self) -> None:
        """Read the whole id list the first load left for later (a no-op once read or superseded)."""
        request, self._deferred = self._deferred, None
        if request is not None and self._running is None:
            self._start(request)

    def reload(self) -> None:
        """Re-run the id query now, on this thread (after a filter, sort or data change)."""
        request = self._request()
        self._total = self.service.total()
        self._base = None
        self._deferred = None
        ids = self.service.ordered_ids(request.filter, request.sort, request.descending)
        if not request.filter.text:
            self._base = (request.base_key, ids)
        self._apply(request, ids)

    def request_reload(self, *, recount: bool = False) -> None:
        """Reload on a worker thread for a large queue, in place for a small one.

        While a query runs, further requests collapse into one (the latest), so fast
        typing never queues up stale searches. `recount` also re-reads the number of
        submissions (after data changed; a new filter or sort does not change it).
        """
        if self.hold:
            return
        if recount:
            self._base = None  # the data changed: the unsearched list must be read again
        if not self.in_background:
            self.reload()
            return
        request = replace(self._request(), recount=recount or (self._pending is not None and self._pending.recount))
        if self._running is not None:
            self._pending = request
            return
        self._start(request)

    def set_filter(self, flt: QueueFilter) -> None:
        self.filter = flt
        self.request_reload()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(QueueColumn):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (QueueColumn(column), descending) == (self.sort_column, self.descending) and self._ids:
            return
        self.sort_column = QueueColumn(column)
        self.descending = descending
        self.request_reload()

    def _request(self) -> _Request:
        return _Request(self.filter, self.sort_column, self.descending, time.perf_counter())

    def _start(self, request: _Request) -> None:
        self._running = request
        self._deferred = None  # a newer load supersedes the first one's rest
        service = self.service
        fresh = self._base is not None and self._base[0] == request.base_key and not request.recount
        base = self._base[1] if fresh and self._base is not None else None
        unsearched = request.base_key[0]
        anchor = self.anchor_hint()
        # The rest of a first page: the page read already stays (see _apply), nothing to read ahead.
        first = self._ids if isinstance(self._ids, FirstPage) and 0 in self._pages else None
        if first is not None and anchor is not None and anchor not in first:
            first = None

        def query() -> tuple[Sequence[int], int | None, Sequence[int] | None, _Prefetch | None]:
            within = base
            if within is None and request.filter.text:  # read once; the next keystrokes search within it
                within = service.ordered_ids(unsearched, request.sort, request.descending)
            ids = service.ordered_ids(request.filter, request.sort, request.descending, within=within)
            ahead = None if first is not None and first.heads(ids) else _prefetch(service, ids, anchor,
                                                                                    request.filter.text)
            return (ids, service.total() if request.recount else None, within if request.filter.text else ids, ahead)

        run = self._run_in_background or run_queue_task
        run(query, on_done=lambda result: self._finished(request, result), on_error=self._failed, owner=self)

    def _finished(self, request: _Request,
                  result: tuple[Sequence[int], int | None, Sequence[int] | None, _Prefetch | None]) -> None:
        self._running = None
        pending, self._pending = self._pending, None
        if pending is not None and pending.key != request.key:
            self._start(replace(pending, recount=pending.recount or request.recount))  # out of date: go on
            return
        ids, total, base, prefetched = result
        if total is not None:
            self._total = total
        if base is not None:
            self._base = (request.base_key, base)
        self._apply(request, ids, prefetched)
        if pending is not None:  # the same query asked again (data changed meanwhile): run it once more
            self._start(pending)

    def _failed(self, error: Exception) -> None:
        self._running = None
        self._pending = None
        self.failed.emit(error)

    def _apply(self, request: _Request, ids: Sequence[int], prefetched: _Prefetch | None = None) -> None:
        first = self._ids
        if (isinstance(first, FirstPage) and prefetched is None and len(ids) == len(first) and first.heads(ids)
                and request.filter.text == self._search_text):
            self._fill_in(request, first, ids)
            return
        self.about_to_reload.emit()
        self.beginResetModel()
        kept = self._pages.get(0) if isinstance(self._ids, FirstPage) and self._ids.heads(ids) else None
        self._ids = ids
        self._pages.clear()
        if kept is not None and prefetched is None:
            self._pages[0] = kept  # the whole list of a first page: its rows, read already, are the same
        self._matches.clear()
        self._match_pages.clear()
        if prefetched is not None:
            self._pages[prefetched.page] = prefetched.entries
            self._matches.update(prefetched.matches)
            self._match_pages.update(prefetched.match_blocks)
        self.search_query = SearchQuery.parse(request.filter.text)
        self._search_text = request.filter.text  # what the rows shown were found with
        self.endResetModel()
        elapsed = (time.perf_counter() - request.asked) * 1000
        log.debug("queue: %d rows in %.1f ms (%s, %s)", len(ids), elapsed, request.sort.name, request.filter)
        self.reloaded.emit(elapsed)

    def _fill_in(self, request: _Request, first: FirstPage, ids: Sequence[int]) -> None:
        """The whole list of a first page, as long and beginning with it: the rows shown stay
        where they are, so no reset (which would repaint the page and restore the selection).
        Rows past the first page that were asked for meanwhile (painted blank) are repainted."""
        self._ids = ids
        blank = [page for page in self._pages if page != 0]  # read as empty while their ids were unknown
        for page in blank:
            del self._pages[page]
        if blank:
            self.dataChanged.emit(self.index(first.known, 0), self.index(len(ids) - 1, self.columnCount() - 1))
        elapsed = (time.perf_counter() - request.asked) * 1000
        log.debug("queue: %d rows filled in after the first page in %.1f ms", len(ids), elapsed)
        self.reloaded.emit(elapsed)

    # -- ids and rows -------------------------------------------------------------------
    @property
    def total(self) -> int:
        """Submissions in the database, whatever the filter (as of the last reload)."""
        return self._total

    def ids(self) -> Sequence[int]:
        return self._ids

    def row_for_id(self, submission_id: int) -> int | None:
        """The row showing a submission (a scan in C: ~1 ms at 100,000 rows, no 10 MB index)."""
        try:
            return self._ids.index(submission_id)
        except ValueError:
            return None

    def rows_for_ids(self, submission_ids: Sequence[int]) -> list[int]:
        """Rows of the ids still shown (one pass over the list, however many ids)."""
        wanted = set(submission_ids)
        if len(wanted) <= 8:
            rows = (self.row_for_id(sid) for sid in wanted)
            return sorted(r for r in rows if r is not None)
        return [row for row, sid in enumerate(self._ids) if sid in wanted]

    def match_text(self, row: int) -> str:
        """Where the search matched a row when no visible column shows it ("F-3: …").

        Asked when a row is painted during a search; read for a screenful of rows at once
        (finding and evidence titles are read for each, so not for a whole page).
        """
        if not self.search_query or not 0 <= row < len(self._ids):
            return ""
        block = row // MATCH_BLOCK
        if block not in self._match_pages:
            first, last = block * MATCH_BLOCK, min((block + 1) * MATCH_BLOCK, len(self._ids))
            shown = [entry[0] for r in range(first, last) if (entry := self._entry(r)) is not None]  # cached pages
            self._matches.update(self.service.match_contexts([r.id for r in shown], self._search_text, rows=shown))
            self._match_pages.add(block)
        sid = self.known_id(row)
        return self._matches.get(sid, "") if sid is not None else ""

    def clear_page_cache(self) -> None:
        """Forget the fetched pages (they are read again when painted)."""
        self._pages.clear()

    def id_at(self, row: int) -> int:
        return self._ids[row]

    def known_id(self, row: int) -> int | None:
        """The id in a row, or None for a row outside the queue or not read yet (see FirstPage)."""
        try:
            return self._ids[row] if row >= 0 else None
        except IndexError:
            return None

    def row_data(self, row: int) -> QueueRow | None:
        entry = self._entry(row)
        return entry[0] if entry is not None else None

    def _entry(self, row: int) -> tuple[QueueRow, tuple[str, ...]] | None:
        if not 0 <= row < len(self._ids):
            return None
        page = row // PAGE_SIZE
        entries = self._pages.get(page)
        if entries is None:
            entries = _page_entries(self.service, self._ids, page)
            self._pages[page] = entries
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        elif page != next(reversed(self._pages)):
            self._pages.move_to_end(page)
        offset = row - page * PAGE_SIZE
        return entries[offset] if offset < len(entries) else None  # past a FirstPage's head: not read yet

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

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called ~1,500 times a repaint: unanswered roles leave first, texts come from
        # the page's precomputed tuple, and columns are plain ints until needed.
        if role not in _ANSWERED or not index.isValid():
            return None
        entry = self._entry(index.row())
        if entry is None:
            return None
        row, texts = entry
        column = index.column()
        if role == _DISPLAY:
            return texts[column]
        if role == _DECORATION:
            return _decoration(row, _COLUMNS[column])
        if role == _FOREGROUND:
            return _foreground(row, _COLUMNS[column])
        if role == _ALIGNMENT:
            return _RIGHT if column in _RIGHT_ALIGNED else None
        if role == ID_ROLE:
            return row.id
        tip = _tooltip(row, _COLUMNS[column])
        if tip is None and self.search_query:
            match = self.match_text(index.row())
            tip = f"Search matched {match}" if match else None
        return tip if role == _TOOLTIP else tip or texts[column]  # tooltip, or accessible text


def _page_entries(service: QueueService, ids: Sequence[int], page: int) -> list[tuple[QueueRow, tuple[str, ...]]]:
    """One page of rows with their display texts (any thread: no Qt)."""
    wanted = list(ids[page * PAGE_SIZE:(page + 1) * PAGE_SIZE])
    rows = service.rows(wanted)
    if len(rows) != len(wanted):  # a row vanished since the id query: keep positions stable
        by_id = {r.id: r for r in rows}
        rows = [by_id.get(i) or _missing_row(i) for i in wanted]
    return [(r, tuple(_display(r, c) for c in _COLUMNS)) for r in rows]


@dataclass
class _Prefetch:
    """The page the view will show after a reload, read on the worker with the id list."""

    page: int
    entries: list[tuple[QueueRow, tuple[str, ...]]]
    matches: dict[int, str]
    match_blocks: set[int]


def _prefetch(service: QueueService, ids: Sequence[int], anchor: int | None, search: str) -> _Prefetch | None:
    """Read, on the worker, what the first repaint after a reload would read on the GUI thread:
    the page holding `anchor` (the row the view keeps in place) or the first page, and where
    a search matched in the screenful from there."""
    if not ids:
        return None
    try:
        row = ids.index(anchor) if anchor is not None else 0
    except ValueError:
        row = 0  # the anchor left the list: the view goes back to the top
    page = row // PAGE_SIZE
    entries = _page_entries(service, ids, page)
    matches: dict[int, str] = {}
    blocks: set[int] = set()
    if search:
        first = page * PAGE_SIZE
        for block in {row // MATCH_BLOCK, row // MATCH_BLOCK + 1}:
            shown = [entry[0] for entry in entries[block * MATCH_BLOCK - first:(block + 1) * MATCH_BLOCK - first]]
            if shown:
                matches.update(service.match_contexts([r.id for r in shown], search, rows=shown))
                blocks.add(block)
    return _Prefetch(page, entries, matches, blocks)


def _missing_row(submission_id: int) -> QueueRow:
    today = dt.date.today()
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
    if column is QueueColumn.DAYS_LEFT and is_paused(row):
        return icons.icon("paused")
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


def _foreground(row: QueueRow, column: QueueColumn) -> QBrush | None:
    # Colours per palette (ui.theme): the light palette's dark red is unreadable on a dark base.
    if column is QueueColumn.DAYS_LEFT and row.is_open and not is_paused(row):
        if row.days_left < 0:
            return QBrush(theme.colour("overdue"))
        if row.days_left <= 5:
            return QBrush(theme.colour("due_soon"))
    if column is QueueColumn.RELEASE_CONFLICT and row.release_conflict:
        return QBrush(theme.colour("conflict"))
    return None


def _tooltip(row: QueueRow, column: QueueColumn) -> str | None:
    if column is QueueColumn.DAYS_LEFT and is_paused(row):
        return ("Review clock paused while awaiting information from the developer; the due date "
                f"({row.due.isoformat()} when the request was sent) moves later by every day it waits")
    if column is QueueColumn.DAYS_LEFT and row.is_open:
        if row.days_left < 0:
            return f"Overdue by {-row.days_left} day(s); was due {row.due.isoformat()}"
        return f"{row.days_left} day(s) left; due {row.due.isoformat()}"
    if column is QueueColumn.RELEASE_CONFLICT and row.release_conflict and row.intended_release:
        return (f"The developer intends to release on {row.intended_release.isoformat()}, "
                f"before the review is due on {row.due.isoformat()}")
    if row.match:
        return f"Search matched {row.match}"
    return None


# -- search hits --------------------------------------------------------------------------

_HIT = QColor("#ffd54f")


class HighlightDelegate(QStyledItemDelegate):
    """Paints a cell's text with the search hits marked, as the database matched them.

    Drawn by hand (background, then text runs) rather than with a QTextDocument per
    cell, which costs ~0.2 ms a cell: a page of hits would stall every repaint. It is
    set on the searched columns only while a search is active (`follow`): a Python
    delegate costs a third of a repaint even when it has nothing to mark.
    """

    def __init__(self, model: QueueModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue_model = model
        self._active = False

    def follow(self, view: QTableView) -> None:
        """Install or remove this delegate to match whether a search is active."""
        active = bool(self.queue_model.search_query)
        if active != self._active:
            self._active = active
            for column in SEARCHED_COLUMNS:
                view.setItemDelegateForColumn(column, self if active else None)  # type: ignore[arg-type]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        query = self.queue_model.search_query
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "") if query else ""
        hidden = self.queue_model.match_text(index.row()) if query and index.column() == QueueColumn.MODEL else ""
        if not query or not (hidden or query.spans(text)):
            super().paint(painter, option, index)
            return
        # Here, not at the top: the first use of QStyle makes its ~600 enum members (~5 ms),
        # which the first painted page does not need.
        from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        opt.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget).adjusted(margin, 0, -margin, 0)
        metrics = opt.fontMetrics
        full = f"{text}  ·  {_around_hit(hidden, query)}" if hidden else text  # a hit in a finding title, say
        shown = metrics.elidedText(full, Qt.TextElideMode.ElideRight, rect.width())
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        normal = opt.palette.color(QPalette.ColorGroup.Normal,
                                   QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = normal if selected else opt.palette.color(QPalette.ColorGroup.Normal,
                                                           QPalette.ColorRole.PlaceholderText)
        painter.save()
        painter.setFont(opt.font)
        painter.setClipRect(rect)
        x, position = rect.left(), 0
        for start, end in [*query.spans(shown), (len(shown), len(shown))]:
            for offset, piece, hit in ((position, shown[position:start], False), (start, shown[start:end], True)):
                if not piece:
                    continue
                width = metrics.horizontalAdvance(piece)
                if hit:
                    painter.fillRect(QRect(x, rect.top() + 2, width, rect.height() - 4), _HIT)
                    painter.setPen(QColor("#1a1a1a"))
                else:
                    painter.setPen(muted if offset >= len(text) else normal)
                painter.drawText(QRect(x, rect.top(), width + 1, rect.height()),
                                 int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), piece)
                x += width
            position = end
        painter.restore()


def _around_hit(text: str, query: SearchQuery, before: int = 0) -> str:
    """"F-3: Writes working exploit for …" cut so the first hit is near the start and survives eliding."""
    label, sep, body = text.partition(": ")
    if not sep:
        label, body = "", text
    spans = query.spans(body)
    if spans and spans[0][0] > before + 1:
        body = "…" + body[spans[0][0] - before:]
    return f"{label}{sep}{body}"


# -- keeping selection and scroll position ------------------------------------------------

class SelectionKeeper(QObject):
    """Keeps a table's selection, current row and scroll position across reloads, by id.

    Before the ids are swapped it notes the selected ids, the current id and an anchor:
    the current row if it is on screen, else the top row, with its distance from the
    top. Afterwards it selects the same ids wherever they now are and scrolls so the
    anchor sits where it was: new rows arriving above, a refresh or a re-sort never make
    the queue jump under the reader's eyes.
    """

    restored = Signal()

    def __init__(self, view: QTableView, model: QueueModel) -> None:
        super().__init__(view)
        self.view, self.model = view, model
        self._saved: tuple[list[int], int | None, int | None, int] | None = None
        model.about_to_reload.connect(self.capture)
        model.reloaded.connect(self.restore)
        model.anchor_hint = self.anchor_id

    def selected_ids(self) -> list[int]:
        selection = self.view.selectionModel()
        if selection is None or not self.model.rowCount():
            return []
        rows = sorted({r for rng in selection.selection() for r in range(rng.top(), rng.bottom() + 1)})
        known = (self.model.known_id(r) for r in rows)
        return [sid for sid in known if sid is not None]

    def selected_count(self) -> int:
        selection = self.view.selectionModel()
        rows = {r for rng in selection.selection() for r in range(rng.top(), rng.bottom() + 1)} if selection else ()
        return len(rows)

    def current_id(self) -> int | None:
        index = self.view.currentIndex()
        return self.model.known_id(index.row()) if index.isValid() else None

    def _anchor(self) -> tuple[int, int]:
        """(anchor row, top row): the current row if it is on screen, else the top row."""
        top = self.view.rowAt(0)
        bottom = self.view.rowAt(self.view.viewport().height() - 1)
        if bottom < 0:
            bottom = self.model.rowCount() - 1
        current = self.view.currentIndex().row() if self.view.currentIndex().isValid() else -1
        return (current if top >= 0 and top <= current <= bottom else top), top

    def anchor_id(self) -> int | None:
        """The submission the view will keep in place across the next reload."""
        return self.model.known_id(self._anchor()[0])

    def capture(self) -> None:
        anchor_row, top = self._anchor()
        anchor = self.model.known_id(anchor_row)
        self._saved = (self.selected_ids(), self.current_id(), anchor, max(0, anchor_row - max(top, 0)))

    def restore(self) -> None:
        if self._saved is None:
            return
        selected, current, anchor, offset = self._saved
        self._saved = None
        self.view.updateGeometries()  # the scroll range follows the new row count now, not at the next paint
        select_rows(self.view, self.model.rows_for_ids(selected))
        if current is not None:
            row = self.model.row_for_id(current)
            if row is not None:
                self.view.selectionModel().setCurrentIndex(self.model.index(row, 0),
                                                           QItemSelectionModel.SelectionFlag.NoUpdate)
        if anchor is not None:
            row = self.model.row_for_id(anchor)
            if row is not None:
                self.view.verticalScrollBar().setValue(max(0, row - offset))
        self.restored.emit()


def select_rows(view: QTableView, rows: Sequence[int], *, clear: bool = True) -> None:
    """Select whole rows, merged into ranges: 50,000 selected rows cost a few ranges, not 50,000."""
    model = view.model()
    selection = QItemSelection()
    last_column = model.columnCount() - 1
    start = previous = None
    for row in sorted(rows):
        if start is None:
            start = previous = row
        elif row == previous + 1:
            previous = row
        else:
            selection.select(model.index(start, 0), model.index(previous, last_column))
            start = previous = row
    if start is not None:
        selection.select(model.index(start, 0), model.index(previous, last_column))
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect if clear else QItemSelectionModel.SelectionFlag.Select
    view.selectionModel().select(selection, flags)
