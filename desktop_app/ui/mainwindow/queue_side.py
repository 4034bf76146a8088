"""The queue half's behaviour: filters, reloads, sidebar counts, the change poll, selection and the
arrow-key detail loader, saved filters and bulk assignment.

A mixin of `MainWindow` (ui.mainwindow.window): it uses the window's attributes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QInputDialog,
    QMenu,
    QMessageBox,
)

from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.types import Role
from desktop_app.services.queue import BulkAssignResult, QueueColumn, QueueCounts, QueueFilter, SavedFilterInfo
from desktop_app.ui.queue.columns import fit_names
from desktop_app.ui.queue.filters import BulkAssignDialog, combine
from desktop_app.ui.queue.model import run_queue_task
from desktop_app.ui.common.errors import show_failure
from desktop_app.ui.operations import ChangeKind, Changes, Operation, follow_changes
from desktop_app.ui.startup import freeze_start_up_objects
from desktop_app.ui.threads import COUNTS, DETAIL_PRIORITY, run_task

if TYPE_CHECKING:
    pass


log = logging.getLogger("clearance_desk.ui")

#: No fixed delay: keystrokes typed while a search runs collapse into one query (QueueModel),
#: so a short search answers at once and a slow one is never queued behind stale ones.
SEARCH_DEBOUNCE_MS = 0
#: Sidebar counts wait until typing pauses (large queues only): a count under a search costs
#: more than the search itself, and keystrokes come 100-250 ms apart.
COUNTS_DELAY_MS = 300
#: A large queue's whole id list waits for the window's first paint, at most this long.
REST_AT_THE_LATEST_MS = 1000
CHANGE_POLL_MS = 2000  # look for changes made elsewhere (another window, another workstation)


class QueueMixin:
    """The queue half's behaviour: filters, reloads, sidebar counts, the change poll, selection and the"""

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def current_filter(self) -> QueueFilter:
        """The sidebar's view combined with the filter bar's refinements and search."""
        if self._external_filter is not None:
            return self._external_filter
        return combine(self.sidebar.view_filter(), self.filter_bar.refinements())

    def apply_filter(self) -> None:
        self._external_filter = None  # the user chose a view or refinement: theirs wins
        self.model.set_filter(self.current_filter())

    def apply_external_filter(self, flt: QueueFilter, description: str = "") -> None:
        """Show the queue under a filter chosen elsewhere (a dashboard chart).

        The sidebar and the filter bar show what they can of it; it stays until the user
        picks a view or changes a refinement.
        """
        from desktop_app.ui.queue.filters import VIEW_ROLE

        key = f"state:{next(iter(flt.states)).value}" if len(flt.states) == 1 else "all"
        self.sidebar.blockSignals(True)
        try:
            for row in range(self.sidebar.count()):
                if self.sidebar.item(row).data(VIEW_ROLE) == key:
                    self.sidebar.setCurrentRow(row)
        finally:
            self.sidebar.blockSignals(False)
        self.filter_bar.load(flt)
        self._external_filter = flt
        self.model.set_filter(flt)
        if description:
            self.statusBar().showMessage(f"Showing: {description}. Choose a view in the sidebar to go back.", 20000)

    def reload(self) -> None:
        """Re-read the queue (keeping selection and scroll position) and the detail shown."""
        self._marker = self.services.queue.change_marker()
        self.model.filter = self.current_filter()
        self.model.request_reload(recount=True)
        self._shown_id = None
        if not self.model.loading:
            self._current_changed(self.queue.currentIndex().row())

    def _start_queue(self) -> None:
        """The first load, on this thread: the first paint must already show rows."""
        header = self.queue.horizontalHeader()
        self.model.sort_column = QueueColumn(header.sortIndicatorSection() % len(QueueColumn))
        self.model.descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        self.model.hold = False
        self._marker = self.services.queue.change_marker()
        self.model.filter = self.current_filter()
        self.model.reload_first_page(rest_later=self._defer_review)
        if self.model.in_background:  # a large queue: paint it first; the rest of it and the detail just after
            self.queue.viewport().installEventFilter(self)
            QTimer.singleShot(REST_AT_THE_LATEST_MS, self.model, self.model.load_rest)  # no paint (minimised)
        if self.model.rowCount() and not self.queue.currentIndex().isValid():
            if self.model.in_background:
                self._shown_id = self.model.id_at(0)
            self.queue.selectRow(0)
        self._poll_timer.start()
        follow_changes(self, self._review_changed)  # every saved change, from any view, comes here
        if self.model.in_background:
            # Everything built so far (modules, widgets) lives as long as the window: out of
            # the collector's full passes with it (once a process; see ui.startup). The
            # application does this for any queue (ui.startup.resume_collector).
            freeze_start_up_objects()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.queue.viewport() and event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self.model.load_rest)  # after this paint
            self._shown_id = None
            if self.ready:
                QTimer.singleShot(0, lambda: self._current_changed(self.queue.currentIndex().row()))
            else:
                QTimer.singleShot(0, self._build_review_later)
        return super().eventFilter(watched, event)

    def _view_changed(self) -> None:
        saved = self.sidebar.current_saved()
        if saved is not None:
            self.filter_bar.load(saved.filter)
        self.apply_filter()

    def _after_reload(self, elapsed_ms: float) -> None:
        shown, total = self.model.rowCount(), self.model.total
        fit_names(self.queue, self.model)
        self.status_count.setText(f"{shown:,} of {total:,} submissions" if shown != total else f"{total:,} submissions")
        if self.keeper.current_id() is None and self.ready:
            self._shown_id = None
            self.detail.clear()
        if (self.filter_bar.refinements(), self._marker) == self._counts_key:
            pass  # a new sort or sidebar view: the counts (under the filter bar) are still right
        elif self.model.in_background:
            self._counts_timer.start()
        else:
            self._refresh_counts()
        log.debug("queue shown %.1f ms after the request", elapsed_ms)

    def _refresh_counts(self) -> None:
        """Sidebar counts under the filter bar; off the GUI thread for a large queue."""
        base, me, queue = self.filter_bar.refinements(), self.actor.user_id, self.services.queue
        self._counts_key = (base, self._marker)
        if not self.model.in_background:
            self.sidebar.set_counts(queue.counts(base, me=me, due_within_days=DUE_SOON_DAYS))
            return
        if self._counts_running:
            self._counts_again = True
            return
        self._counts_running = True

        def done(counts: QueueCounts | None) -> None:
            self._counts_running = False
            if counts is not None:
                self.sidebar.set_counts(counts)
            if self._counts_again:
                self._counts_again = False
                self._refresh_counts()

        # on their own worker: a count never holds up the id query of the next keystroke (ui.threads)
        run_task(lambda: queue.counts(base, me=me, due_within_days=DUE_SOON_DAYS), on_done=done, owner=self,
                 on_error=lambda error: (log.warning("sidebar counts failed: %s", error), done(None)),
                 pool_name=COUNTS)

    def _check_for_changes(self) -> None:
        """Read the change counter on a worker (a shared database may be across the network).

        When it moved, someone committed a change: reload, keeping selection and scroll.
        """
        if self.model.loading or self._poll_running:
            return
        self._poll_running = True

        def done(marker: int) -> None:
            self._poll_running = False
            if marker != self._marker and not self.model.loading:
                self.reload()

        def failed(error: Exception) -> None:
            self._poll_running = False
            log.warning("looking for changes failed: %s", error)

        run_task(self.services.queue.change_marker, on_done=done, on_error=failed, owner=self)

    def _queue_failed(self, error: Exception) -> None:
        log.error("queue query failed: %s", error)
        self.statusBar().showMessage(f"The queue could not be read: {error}", 10000)

    def clear_filters(self) -> None:
        self.sidebar.blockSignals(True)
        self.sidebar.setCurrentRow(0)
        self.sidebar.blockSignals(False)
        self.filter_bar.clear()

    def _leave_search(self) -> None:
        self.queue.setFocus()
        if self.model.rowCount() and not self.queue.currentIndex().isValid():
            self.queue.selectRow(0)

    def selected_ids(self) -> list[int]:
        return self.keeper.selected_ids()

    def current_id(self) -> int | None:
        return self.keeper.current_id()

    def select_submission(self, submission_id: int) -> None:
        self.model.filter = self.current_filter()
        self.model.reload()
        row = self.model.row_for_id(submission_id)
        if row is None:
            self.clear_filters()
            self.model.filter = self.current_filter()
            self.model.reload()
            row = self.model.row_for_id(submission_id)
        if row is not None:
            self.queue.selectRow(row)
            self.queue.scrollTo(self.model.index(row, 0))

    def _current_changed(self, row: int) -> None:
        if not self.ready:
            return  # finish_setup shows the current row
        submission_id = self.model.known_id(row)
        if submission_id is not None and submission_id == self._shown_id:
            return  # the same submission after a re-sort or refresh: keep the pane as it is
        if submission_id is not None and self.model.in_background:
            # On the queue's worker, even for one click: the GUI thread never waits for the
            # database (a cold ORM read or a busy disk takes 50-150 ms), and rows passed over
            # while a read runs (an arrow key held down) are skipped.
            self._load_detail(submission_id)
        else:
            self.show_row(row)
        match = self.model.match_text(row) if submission_id is not None else ""
        if match:
            self.statusBar().showMessage(f"Search matched {match}", 8000)

    def detail_is_current(self) -> bool:
        """The detail pane shows the current row (or no row is current): the window is ready."""
        current = self.current_id()
        return self.ready and (current is None or self._shown_id == current)

    def _detail_parts(self, submission_id: int) -> tuple[object, ...]:
        """What the detail pane shows, read from the services (any thread)."""
        return self.services.submissions.view(self.actor, submission_id)

    def _load_detail(self, submission_id: int) -> None:
        """Read the detail on the queue's worker (large queues): a click or an arrow key held down
        never stalls the window.

        One read at a time; rows passed over while it ran are skipped, the last one is shown.
        """
        self._detail_wanted = submission_id
        if self._detail_loading:
            return
        self._detail_loading = True

        def done(parts: tuple[object, ...] | None) -> None:
            self._detail_loading = False
            if self._detail_wanted != submission_id:
                self._load_detail(self._detail_wanted)
            elif parts is not None and self.current_id() == submission_id:
                self.detail.show_submission(*parts)  # type: ignore[arg-type]
                self._shown_id = submission_id

        def failed(error: Exception) -> None:
            log.warning("detail of submission %s could not be read: %s", submission_id, error)
            done(None)

        run_queue_task(lambda: self._detail_parts(submission_id), on_done=done, on_error=failed,
                       priority=DETAIL_PRIORITY, owner=self)

    def open_row(self, row: int) -> None:
        """Enter on a row: show it and move to its detail."""
        if 0 <= row < self.model.rowCount():
            self.finish_setup()
            self.show_row(row)
            self.detail.setFocus()

    def show_row(self, row: int) -> None:
        self.finish_setup()
        if self.model.known_id(row) is None:
            self._shown_id = None
            self.detail.clear()
            return
        submission_id = self.model.id_at(row)
        self.detail.show_submission(*self._detail_parts(submission_id))  # type: ignore[arg-type]
        self._shown_id = submission_id

    def save_current_filter(self) -> None:
        current = self.sidebar.current_saved()
        name, ok = QInputDialog.getText(self, "Save filter", "Name of the filter:",
                                        text=current.name if current else "")
        if not ok or not name.strip():
            return
        queue, actor, flt = self.services.queue, self.actor, self.current_filter()

        def saved(info: SavedFilterInfo) -> Changes:
            self._saved_to_select = info.id  # the sidebar selects it when it shows the change
            return Changes(None, ChangeKind.SAVED_FILTERS, f"Saved the filter “{info.name}”")

        Operation(self, lambda: queue.save_filter(actor, name, flt), title="Save filter").success(saved).run()

    def delete_saved_filter(self, saved: SavedFilterInfo) -> None:
        answer = QMessageBox.question(self, "Delete saved filter", f"Delete the saved filter “{saved.name}”?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        if self.sidebar.current_saved() == saved:
            self.sidebar.setCurrentRow(0)
        queue, actor = self.services.queue, self.actor
        Operation(self, lambda: queue.delete_filter(actor, saved.id), title="Delete saved filter").success(
            lambda _none: Changes(None, ChangeKind.SAVED_FILTERS, f"Deleted the saved filter “{saved.name}”")).run()

    def assign_selected(self) -> None:
        ids = self.selected_ids()
        if not ids:
            self.statusBar().showMessage("Select the submissions to assign first", 5000)
            return
        dialog = BulkAssignDialog(len(ids), self.services.queue.assignees(), self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.assignee_id() is None:
            return
        self.bulk_assign(ids, dialog.assignee_id())  # type: ignore[arg-type]

    def bulk_assign(self, ids: list[int], assignee_id: int) -> None:
        """Assign off the GUI thread (a select-all can be thousands of audited changes)."""
        queue, actor = self.services.queue, self.actor
        self.statusBar().showMessage(f"Assigning {len(ids):,} submissions…")
        self.setCursor(Qt.CursorShape.BusyCursor)

        def failed(error: Exception) -> None:
            self.unsetCursor()
            self.statusBar().clearMessage()
            show_failure(self, "Assign submissions", error)

        Operation(self, lambda: queue.bulk_assign(actor, ids, assignee_id), title="Assign submissions").success(
            self._assigned).failure(failed).run()

    def _assigned(self, result: BulkAssignResult) -> Changes:
        self.unsetCursor()
        parts = [f"Assigned {len(result.assigned):,}"]
        if result.unchanged:
            parts.append(f"{len(result.unchanged):,} already theirs")
        if result.skipped:
            parts.append(f"{len(result.skipped):,} skipped ({result.skipped[0][0]} {result.skipped[0][1]})")
        return Changes(None, ChangeKind.ASSIGNMENT, "; ".join(parts))

    def _queue_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        index = self.queue.indexAt(position)
        if index.isValid():
            menu.addAction("Open", lambda: self.open_row(index.row()))
        if self.actor.role is not Role.ADMIN:
            count = self.keeper.selected_count()
            assign = menu.addAction(f"Assign selected ({count:,}) to…", self.assign_selected)
            assign.setEnabled(count > 0)
        menu.addAction("Select all", self.queue.selectAll)
        menu.exec(self.queue.viewport().mapToGlobal(position))
