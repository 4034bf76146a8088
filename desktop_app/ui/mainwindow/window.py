"""The main window: status sidebar, the queue, and the selected submission's detail.

The queue's parts live in ui.queue (model, filters, columns); the window composes them
and the features, and its behaviour is split by concern into mixins beside it: `menus`,
`queue_side` (filters, reloads, counts, poll, the detail loader), `review_side` (the
review half's deferred build and wiring, the change bus's listener) and `commands` (dialogs and files).
The window wires them: any filter change reloads the queue (on a
worker thread when it is large), the sidebar counts follow a moment later, and a cheap
poll of the audit chain's head reloads it when someone else changed something.

The window is built in two halves. The queue half (model, view, sidebar, filter bar,
menus) needs only Qt and the Core-based queue service. The review half (detail pane,
findings editor, workflow, letter and report actions) is more widgets, and reads with
Core too (`submissions.view`); the application builds it just after the first queue
page is painted (`defer_review=True`), importing its modules on a worker thread.
Anything that needs it before then builds it on the spot (`finish_setup`). The
ORM-based services every change goes through load after that, on a worker
(`services.bundle.load_record_services`), while the reviewer reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from desktop_app import APP_NAME
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.queue import QueueColumn, QueueFilter
from desktop_app.ui.common import icons
from desktop_app.ui.queue.columns import set_up_columns
from desktop_app.ui.queue.filters import FilterBar, QueueSidebar
from desktop_app.ui.queue.model import HighlightDelegate, QueueModel, SelectionKeeper
from desktop_app.ui.queue.view import QueueView
from desktop_app.ui.mainwindow.commands import CommandsMixin
from desktop_app.ui.mainwindow.menus import MenusMixin
from desktop_app.ui.mainwindow.queue_side import COUNTS_DELAY_MS, CHANGE_POLL_MS, SEARCH_DEBOUNCE_MS, QueueMixin
from desktop_app.ui.mainwindow.review_side import ReviewMixin

if TYPE_CHECKING:
    from desktop_app.ui.review.detail_pane import DetailPane
    from desktop_app.ui.letters.actions import LetterActions
    from desktop_app.ui.reports.actions import ReportActions
    from desktop_app.ui.review.workflow import WorkflowController

log = logging.getLogger("clearance_desk.ui")

class MainWindow(MenusMixin, QueueMixin, ReviewMixin, CommandsMixin, QMainWindow):
    auto_backup_on_close = False
    """Set by the application (not by tests or --smoke-test): the daily backup when the window closes."""
    # The review half, built by finish_setup.
    detail: DetailPane
    review: WorkflowController
    letter_actions: LetterActions
    report_actions: ReportActions

    def __init__(self, services: Services, actor: Actor, *, defer_review: bool = False) -> None:
        super().__init__()
        self.services, self.actor = services, actor
        self._defer_review = defer_review  # also: a large queue's whole id list waits for the first paint
        self.setWindowTitle(f"{APP_NAME} — {actor.label} ({actor.role.value})")
        self.setWindowIcon(icons.icon("app"))
        self.resize(1440, 880)
        self.model = QueueModel(services.queue, self)
        self.model.hold = True  # one load once the window is set up (header state restored)
        self.queue = self._build_queue_view()
        self.keeper = SelectionKeeper(self.queue, self.model)
        self.sidebar = self._build_sidebar()
        self.filter_bar = self._build_filter_bar()
        self.search = self.filter_bar.search
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_filter)
        self.filter_bar.text_edited.connect(self._search_timer.start)
        self._shown_id: int | None = None
        self._detail_wanted: int | None = None
        self._detail_loading = False
        #: A filter chosen elsewhere (a dashboard chart) until the user picks a view or refinement.
        self._external_filter: QueueFilter | None = None
        self._counts_running = False
        self._counts_again = False
        self._counts_key: tuple[QueueFilter, int] | None = None  # what the sidebar counts were read for
        self._counts_timer = QTimer(self, singleShot=True, interval=COUNTS_DELAY_MS)
        self._counts_timer.timeout.connect(self._refresh_counts)
        self._marker = 0
        self._poll_timer = QTimer(self, interval=CHANGE_POLL_MS)
        self._poll_timer.timeout.connect(self._check_for_changes)
        self._poll_running = False
        self.ready = False  # the review half is built (finish_setup)
        self._review_importing = False
        self._records_loaded = False  # the ORM-based services, loaded after the review half
        from PySide6.QtGui import QUndoStack

        self.undo_stack = QUndoStack(self)
        self.my_work = None
        self.changes_dialog: QWidget | None = None
        self.queue.setAcceptDrops(True)
        self.queue.package_dropped.connect(self.import_package)
        self.splitter = self._build_layout()
        self.status_user = QLabel(f"Signed in as {actor.label} ({actor.role.value})")
        self.status_count = QLabel()
        self.statusBar().addWidget(self.status_user)
        self.statusBar().addPermanentWidget(self.status_count)
        self._build_menus()
        self._add_review_menus()
        self._restore_state()
        self.model.reloaded.connect(self._after_reload)
        self.model.failed.connect(self._queue_failed)
        self._start_queue()
        self.queue.setFocus()
        from desktop_app.ui.session_guard import SessionGuard

        self.session_guard = SessionGuard(self, services.users, actor)
        if not defer_review:
            self.finish_setup()
        else:
            self.queue.viewport().installEventFilter(self)  # after the first paint: _build_review_later

    def finish_setup(self, first_detail: tuple[int, tuple[object, ...]] | None = None) -> None:
        """Build the review half now (once): detail pane, workflow, letter and report actions.

        `first_detail` is (submission id, detail parts) read on the worker that imported the
        review modules: shown at once if that submission is still the current one.
        """
        if self.ready:
            return
        from desktop_app.ui.review.detail_pane import DetailPane
        from desktop_app.ui.reports.actions import ReportActions

        self.detail = DetailPane()
        self.detail.artifact_activated.connect(self.view_artifact)
        self.detail.changes_requested.connect(self.open_changes)
        self.detail.artifact_save_requested.connect(self.save_artifact)
        self.detail.attach_requested.connect(self.attach_files)
        self._connect_letters()
        self.report_actions = ReportActions(self, self.services, self.actor)
        self._connect_review()
        self._add_review_actions_menu()
        placeholder = self.splitter.replaceWidget(2, self.detail)
        if placeholder is not None:
            placeholder.deleteLater()
        self.ready = True
        self._shown_id = None
        if first_detail is not None and first_detail[0] == self.current_id():
            self.detail.show_submission(*first_detail[1])  # type: ignore[arg-type]
            self._shown_id = first_detail[0]
        else:
            self._current_changed(self.queue.currentIndex().row())

    def _needs_review(self, call: Callable[[], object]) -> Callable[[], None]:
        """A menu slot that uses the review half: builds it first if it is not there yet."""
        def slot() -> None:
            self.finish_setup()
            call()

        return slot

    def _build_queue_view(self) -> QueueView:
        view = QueueView()
        view.setModel(self.model)
        view.setAccessibleName("Submission queue")
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setSortingEnabled(True)
        view.horizontalHeader().setSortIndicator(QueueColumn.DUE, Qt.SortOrder.AscendingOrder)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        view.horizontalHeader().setStretchLastSection(True)
        view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        view.verticalHeader().setDefaultSectionSize(24)
        view.verticalHeader().hide()
        view.setWordWrap(False)
        view.setAlternatingRowColors(True)
        set_up_columns(view, "main/queueHeader")  # what shows beside the detail pane at 1366 px; a header menu
        view.selectionModel().currentRowChanged.connect(lambda current, _prev: self._current_changed(current.row()))
        view.open_requested.connect(self.open_row)
        self.highlighter = HighlightDelegate(self.model, view)
        self.model.reloaded.connect(lambda _ms: self.highlighter.follow(view))
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._queue_menu)
        return view

    def _build_sidebar(self) -> QueueSidebar:
        sidebar = QueueSidebar(self.actor.user_id)
        sidebar.set_saved(self.services.queue.saved_filters(self.actor))
        sidebar.currentRowChanged.connect(lambda _row: self._view_changed())
        sidebar.delete_requested.connect(self.delete_saved_filter)
        return sidebar

    def _build_filter_bar(self) -> FilterBar:
        bar = FilterBar(self.actor.user_id, self.services.queue.assignees(), self.services.queue.developers())
        bar.changed.connect(self.apply_filter)
        bar.leave_requested.connect(self._leave_search)
        bar.save_requested.connect(self.save_current_filter)
        return bar

    def _build_layout(self) -> QSplitter:
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.queue)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(self.sidebar)
        splitter.addWidget(centre)
        splitter.addWidget(QWidget())  # the detail pane's place, until finish_setup
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([200, 760, 480])
        self.setCentralWidget(splitter)
        return splitter

    def _restore_state(self) -> None:
        settings = QSettings()
        geometry = settings.value("main/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = settings.value("main/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        header = settings.value("main/queueHeader")
        if isinstance(header, QByteArray):
            self.queue.horizontalHeader().restoreState(header)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.auto_backup_on_close:
            from desktop_app.ui.admin.backup import automatic_backup_on_close

            self.auto_backup_on_close = False  # once, even if closing is asked again meanwhile
            automatic_backup_on_close(self, self.services)
        settings = QSettings()
        settings.setValue("main/geometry", self.saveGeometry())
        settings.setValue("main/splitter", self.splitter.saveState())
        settings.setValue("main/queueHeader", self.queue.horizontalHeader().saveState())
        super().closeEvent(event)
