"""The main window: status sidebar, the queue, and the selected submission's detail.

The queue's parts live beside it: the paged model, the selection keeper and the
highlighting delegate in `queue_model`, the sidebar, filter bar and bulk-assign dialog
in `queue_filters`. The window wires them: any filter change reloads the queue (on a
worker thread when it is large), the sidebar counts follow a moment later, and a cheap
poll of the audit chain's head reloads it when someone else changed something.

The window is built in two halves. The queue half (model, view, sidebar, filter bar,
menus) needs only Qt and the Core-based queue service. The review half (detail pane,
findings editor, workflow, letter and report actions) needs the ORM-based services,
~150 ms of imports; the application builds it just after the first queue page is
painted (`defer_review=True`), importing its modules on a worker thread. Anything that
needs it before then builds it on the spot (`finish_setup`).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME, __version__
from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.domain.types import Role
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.queue import BulkAssignResult, QueueColumn, QueueCounts, QueueFilter, SavedFilterInfo
from desktop_app.ui.common import icons
from desktop_app.ui.operations import Changes, Operation, bus
from desktop_app.ui.queue.columns import fit_names, set_up_columns
from desktop_app.ui.queue.filters import BulkAssignDialog, FilterBar, QueueSidebar, combine
from desktop_app.ui.queue.model import HighlightDelegate, QueueModel, SelectionKeeper, run_queue_task
from desktop_app.ui.startup import freeze_start_up_objects
from desktop_app.ui.threads import COUNTS_PRIORITY, DETAIL_PRIORITY

if TYPE_CHECKING:
    from desktop_app.ui.review.detail_pane import DetailPane
    from desktop_app.ui.letters.actions import LetterActions
    from desktop_app.ui.reports.actions import ReportActions
    from desktop_app.ui.review.workflow import WorkflowController

log = logging.getLogger("clearance_desk.ui")

#: The modules of the review half, imported off the GUI thread when the build is deferred.
REVIEW_MODULES = ("desktop_app.ui.review.detail_pane", "desktop_app.ui.review.workflow", "desktop_app.ui.letters.actions",
                  "desktop_app.ui.reports.actions", "desktop_app.services.workflow", "desktop_app.services.findings")

#: No fixed delay: keystrokes typed while a search runs collapse into one query (QueueModel),
#: so a short search answers at once and a slow one is never queued behind stale ones.
SEARCH_DEBOUNCE_MS = 0
COUNTS_DELAY_MS = 120  # sidebar counts wait until typing pauses (large queues only)
CHANGE_POLL_MS = 2000  # look for changes made elsewhere (another window, another workstation)
#: Rows made current closer together than this (an arrow key held down) read their detail on
#: the worker, which skips the rows passed over; a single click reads it on the GUI thread.
DETAIL_BURST_S = 0.06  # key auto-repeat is 25-33 a second; clicks are further apart


class QueueView(QTableView):
    """The queue table; Enter opens the current submission."""

    open_requested = Signal(int)
    package_dropped = Signal(object)

    @staticmethod
    def _dropped_path(event) -> Path | None:  # noqa: ANN001
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) != 1 or not urls[0].isLocalFile():
            return None
        path = Path(urls[0].toLocalFile())
        return path if path.is_dir() or path.suffix.lower() == ".zip" else None

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001, N802
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001, N802
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: ANN001, N802
        path = self._dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.package_dropped.emit(path)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)


class MainWindow(QMainWindow):
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
        self._last_detail_at = 0.0
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
        if not defer_review:
            self.finish_setup()
        else:
            self.queue.viewport().installEventFilter(self)  # after the first paint: _build_review_later

    # -- the review half ------------------------------------------------------------
    def finish_setup(self) -> None:
        """Build the review half now (once): detail pane, workflow, letter and report actions."""
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
        self._current_changed(self.queue.currentIndex().row())

    def _build_review_later(self) -> None:
        """Import the review half's modules on a worker thread, then build it here."""
        if self.ready or self._review_importing:
            return
        from desktop_app.ui.threads import run_task

        self._review_importing = True

        def imported(_result: object) -> None:
            self._review_importing = False
            self.finish_setup()

        def failed(error: Exception) -> None:
            log.warning("loading the review modules in the background failed (%s); loading them now", error)
            imported(None)

        run_task(lambda: [importlib.import_module(name) for name in REVIEW_MODULES], on_done=imported,
                 on_error=failed, owner=self)

    def _needs_review(self, call: Callable[[], object]) -> Callable[[], None]:
        """A menu slot that uses the review half: builds it first if it is not there yet."""
        def slot() -> None:
            self.finish_setup()
            call()

        return slot

    # -- construction --------------------------------------------------------------
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

    def _action(self, text: str, slot: object, shortcut: QKeySequence | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text.replace("&", "").rstrip("…"))
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.file_menu = file_menu
        if self.actor.role is not Role.ADMIN:
            file_menu.addAction(self._action("&Import package…", self.choose_package, "Ctrl+I",
                                             "Import a submission package (folder or .zip)"))
            file_menu.addAction(self._action("Import package &folder…", self.choose_package_folder, "Ctrl+Shift+I",
                                             "Import a submission package delivered as a folder"))
            file_menu.addAction(self._action("&Register submission by hand…", self.register_by_hand,
                                             "Ctrl+Shift+N"))
        file_menu.addAction(self._action("&Verify a letter…", self._needs_review(lambda: self.letter_actions.verify_file()),
                                         "Ctrl+Shift+V",
                                         "Check a signed letter: signature, trust anchor and the letter register"))
        file_menu.addAction(self._action("Verify a &printed letter…", self._needs_review(
            lambda: self.letter_actions.verify_printed()), None,
            "Read a scanned or photographed letter's QR code: its signature, then the letter register"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self._action("&Refresh", self.reload, QKeySequence.StandardKey.Refresh))
        view_menu.addAction(self._action("&Find…", self.focus_search, QKeySequence.StandardKey.Find))
        view_menu.addAction(self._action("Go to &queue", lambda: self.queue.setFocus(), "Ctrl+1"))
        view_menu.addAction(self._action("Go to &detail", self._needs_review(lambda: self.detail.setFocus()), "Ctrl+2"))
        view_menu.addSeparator()
        view_menu.addAction(self._action("Dash&board", self._needs_review(lambda: self.report_actions.open_dashboard()), "Ctrl+D",
                                         "Charts and figures: queue health, decisions, findings, workload"))
        self._add_palette_menu(view_menu)
        queue_menu = bar.addMenu("&Queue")
        queue_menu.addAction(self._action("&Open submission", lambda: self.open_row(self.queue.currentIndex().row()),
                                          None, "Show the current submission and move to its detail"))
        queue_menu.addAction(self._action("Select &all", self.queue.selectAll, QKeySequence.StandardKey.SelectAll))
        if self.actor.role is not Role.ADMIN:
            queue_menu.addAction(self._action("A&ssign selected to…", self.assign_selected, "Ctrl+Shift+A",
                                              "Give the selected submissions to a reviewer"))
        queue_menu.addSeparator()
        queue_menu.addAction(self._action("&Save current filter…", self.save_current_filter, None,
                                          "Save this view, refinements and search under a name"))
        queue_menu.addAction(self._action("&Clear filters", self.clear_filters, None,
                                          "Show all submissions: no view, refinements or search"))
        reports_menu = bar.addMenu("&Reports")
        reports_menu.addAction(self._action("&Periodic report…", self._needs_review(lambda: self.report_actions.periodic_report()),
                                            "Ctrl+Shift+P",
                                            "A PDF (and CSV) of the figures for a date range, for leadership"))
        reports_menu.addAction(self._action("&Export queue as CSV…",
                                            self._needs_review(lambda: self.report_actions.export_queue_csv()),
                                            "Ctrl+Shift+E", "Every row of the queue as shown now, in its order"))
        reports_menu.addAction(self._action("&Letter register…", self._needs_review(
            lambda: self.letter_actions.open_register()), None,
            "Every letter with its status (valid, revoked, superseded); filters, search and CSV export"))
        reports_menu.addAction(self._action("Review &record…", self._needs_review(lambda: self.report_actions.review_record()),
                                            "Ctrl+Shift+R",
                                            "The selected submission's whole record as PDF, for auditors"))
        if self.actor.role is Role.ADMIN:
            admin_menu = bar.addMenu("&Admin")
            admin_menu.addAction(self._action("&Users…", self.open_users, "Ctrl+Shift+U"))
            admin_menu.addAction(self._action("&Settings…", self.open_settings, "Ctrl+,",
                                              "Every agency setting: letterhead, marking, review window, lock-out…"))
            admin_menu.addAction(self._action("&Trust anchors and certificates…",
                                              self._needs_review(lambda: self.letter_actions.trust_admin()),
                                              None, "Agency root certificates, CRLs and supervisors' certificates"))
            admin_menu.addSeparator()
            admin_menu.addAction(self._action("&Back up now…", self.back_up_now, None,
                                              "Write a backup archive of the database and the files it refers to"))
            admin_menu.addAction(self._action("&Restore…", self.restore_backup, None,
                                              "Replace the data with a verified backup"))
        account_menu = bar.addMenu("A&ccount")
        account_menu.addAction(self._action("Change &password…", self.change_password))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&User guide", self.show_user_guide, "F1"))
        help_menu.addAction(self._action("&Keyboard shortcuts", self.show_shortcuts, "Ctrl+/",
                                         "Every command and its keys"))
        help_menu.addAction(self._action("&About Clearance Desk", self.about, "Shift+F1"))
        help_menu.addAction(self._action("Show &log folder", self.show_log_folder, None,
                                         "Where the log files are, to attach to a support request"))

    # -- letters ---------------------------------------------------------------------
    def _connect_letters(self) -> None:
        """The Letters tab's buttons and the letter menu entries (ui.letters.actions)."""
        from desktop_app.ui.letters.actions import LetterActions

        self.letter_actions = LetterActions(self, self.services, self.actor)
        self.detail.set_letter_signing(self.letter_actions.can_sign)
        self.detail.letter_open_requested.connect(self.letter_actions.open_letter)
        self.detail.letter_save_requested.connect(self.letter_actions.save_letter)
        self.detail.letter_print_requested.connect(self.letter_actions.print_letter)
        self.detail.letter_verify_requested.connect(self.letter_actions.verify_letter)
        self.detail.letter_revoke_requested.connect(self.letter_actions.revoke_letter)
        self.detail.notice_requested.connect(self.letter_actions.issue_notice)

    def approve_and_sign(self, submission_id: int) -> bool:
        """Approve with the letter: preview, sign, then the letter is in the Letters tab."""
        return self.letter_actions.approve(submission_id)

    # -- review work: actions, findings, undo, my work (ui.review.workflow, findings_editor) --
    def _connect_review(self) -> None:
        from desktop_app.ui.review.workflow import WorkflowController

        from desktop_app.ui.review.findings import FindingActions

        self.review = WorkflowController(self, self.services, self.actor, self.undo_stack)
        self.review.findings = FindingActions(self.review)
        self.review.approver = self.approve_and_sign
        bus().changed.connect(self._review_changed)  # every saved change, from any view, comes here
        findings, page = self.review.findings, self.detail.findings_page
        self.detail.action_panel.action_requested.connect(
            lambda key: self.detail.detail and self.review.perform(key, self.detail.detail))
        page.new_requested.connect(lambda: self.detail.detail and findings.new(self.detail.detail))
        page.edit_requested.connect(lambda fid: self.detail.detail and findings.edit(self.detail.detail, fid))
        page.withdraw_requested.connect(lambda fid: self.detail.detail and findings.withdraw(self.detail.detail, fid))
        page.attach_requested.connect(lambda fid: self.detail.detail and findings.attach_file(self.detail.detail, fid))
        page.cite_requested.connect(lambda fid: self.detail.detail and findings.cite_artifact(self.detail.detail, fid))
        page.detach_requested.connect(
            lambda fid, eid: self.detail.detail and findings.detach_evidence(self.detail.detail, fid, eid))
        page.save_evidence_requested.connect(self._save_evidence)
        page.open_evidence_requested.connect(self.open_evidence)
        self.detail.finding_version_requested.connect(findings.show_version)

    def _add_review_actions_menu(self) -> None:
        """The Review menu: every workflow action and the finding actions, each with its shortcut."""
        if self.actor.role is Role.ADMIN:
            return
        from desktop_app.ui.review.workflow import review_menu

        page = self.detail.findings_page
        self.review_menu = review_menu(self, self.detail.action_panel,
                                       lambda text: self.statusBar().showMessage(text, 8000),
                                       [("new_finding", "&New finding…", lambda: page.trigger("new")),
                                        ("edit_finding", "&Edit the selected finding…", lambda: page.trigger("edit"))])
        bar = self.menuBar()
        before = next((a for a in bar.actions() if a.text() == "&Queue"), None)
        if before is not None:
            bar.insertMenu(before, self.review_menu)
        else:
            bar.addMenu(self.review_menu)

    def _add_review_menus(self) -> None:
        """Edit (undo and redo of finding edits) after File; My work in View."""
        bar = self.menuBar()
        view_action = next((a for a in bar.actions() if a.text() == "&View"), None)
        edit_menu = QMenu("&Edit", self)
        if view_action is not None:
            bar.insertMenu(view_action, edit_menu)
        else:
            bar.addMenu(edit_menu)
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        if view_action is not None and view_action.menu() is not None and self.actor.role is not Role.ADMIN:
            view_action.menu().addSeparator()
            view_action.menu().addAction(self._action("My &work…", self._needs_review(self.open_my_work), "Ctrl+Shift+M",
                                                      "What is assigned to you, awaits your sign-off, or is due soon"))
            view_action.menu().addAction(self._action("&Conditions…", self._needs_review(self.open_conditions),
                                                      "Ctrl+Shift+K", "Conditions of issued letters: owners, due "
                                                                      "dates, evidence, follow-up"))

    def _review_changed(self, change: object) -> None:
        """After any saved change (the bus): refresh the queue row and the detail, keeping the selection."""
        assert isinstance(change, Changes)
        if change.message:
            self.statusBar().showMessage(change.message, 8000)
        shown = self.detail.detail.id if self.detail.detail is not None else None
        self.reload()  # re-shows the current row's detail; the pane keeps its tab and finding
        if shown == change.submission_id and self.current_id() != shown:
            self._show_submission(shown)  # it left the filtered view: keep showing what was acted on
        if self.my_work is not None:
            self.my_work.refresh()

    def _show_submission(self, submission_id: int) -> None:
        detail = self.services.submissions.detail(submission_id)
        history = self.services.submissions.history(submission_id)
        self.detail.show_submission(detail, history, self.services.workflow.choices(self.actor, submission_id))
        self._shown_id = submission_id

    def _save_evidence(self, evidence_id: int) -> None:
        target = self.review.findings.save_evidence(evidence_id)
        if target is not None:
            self.statusBar().showMessage(f"Saved a copy as {target}", 8000)

    def open_my_work(self) -> None:
        from desktop_app.ui.queue.my_work import MyWorkDialog

        if self.my_work is None:
            self.my_work = MyWorkDialog(self.services, self.actor, self)
            self.my_work.open_requested.connect(self._open_from_my_work)
        else:
            self.my_work.refresh()
        self.my_work.show()
        self.my_work.raise_()
        self.my_work.activateWindow()

    def open_conditions(self) -> None:
        """The Conditions window (ui.letters.conditions), one per main window."""
        from desktop_app.ui.letters.conditions import ConditionsWindow

        window = getattr(self, "conditions_window", None)
        if window is None:
            window = self.conditions_window = ConditionsWindow(self.services, self.actor, self)
            window.open_requested.connect(self._open_from_my_work)
        else:
            window.refresh()
        window.show()
        window.raise_()
        window.activateWindow()

    def _open_from_my_work(self, submission_id: int) -> None:
        self.select_submission(submission_id)
        self.activateWindow()
        self.detail.setCurrentIndex(0)

    # -- behaviour -----------------------------------------------------------------
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
        self.model.reload_first_page()
        if self.model.rowCount() and not self.queue.currentIndex().isValid():
            if self.model.in_background:  # a large queue: paint it first, fill the detail pane just after
                self._shown_id = self.model.id_at(0)
                self.queue.viewport().installEventFilter(self)
            self.queue.selectRow(0)
        self._poll_timer.start()
        if self.model.in_background:
            # Everything built so far (modules, widgets) lives as long as the window: out of
            # the collector's full passes with it (once a process; see ui.startup). The
            # application does this for any queue (ui.startup.resume_collector).
            freeze_start_up_objects()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.queue.viewport() and event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
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

        run_queue_task(lambda: queue.counts(base, me=me, due_within_days=DUE_SOON_DAYS), on_done=done, owner=self,
                       on_error=lambda error: (log.warning("sidebar counts failed: %s", error), done(None)),
                       priority=COUNTS_PRIORITY)

    def _check_for_changes(self) -> None:
        """Read the change counter on a worker (a shared database may be across the network).

        When it moved, someone committed a change: reload, keeping selection and scroll.
        """
        if self.model.loading or self._poll_running:
            return
        from desktop_app.ui.threads import run_task

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
        now = time.monotonic()
        burst = now - self._last_detail_at < DETAIL_BURST_S or self._detail_loading
        self._last_detail_at = now
        if submission_id is not None and self.model.in_background and burst:
            self._load_detail(submission_id)  # an arrow key held down: the worker skips rows passed over
        elif submission_id is not None and self.model.in_background:
            # One click or key press: read here (~10 ms, no thread hop), just after the queue
            # has repainted the new selection, so neither waits for the other.
            QTimer.singleShot(0, lambda: self._show_if_current(submission_id))
        else:
            self.show_row(row)
        match = self.model.match_text(row) if submission_id is not None else ""
        if match:
            self.statusBar().showMessage(f"Search matched {match}", 8000)

    def _show_if_current(self, submission_id: int) -> None:
        if self.current_id() == submission_id and self._shown_id != submission_id and not self._detail_loading:
            row = self.model.row_for_id(submission_id)
            if row is not None:
                self.show_row(row)

    def _detail_parts(self, submission_id: int) -> tuple[object, ...]:
        """What the detail pane shows, read from the services (any thread)."""
        return (self.services.submissions.detail(submission_id), self.services.submissions.history(submission_id),
                self.services.workflow.choices(self.actor, submission_id))

    def _load_detail(self, submission_id: int) -> None:
        """Read the detail on a worker (large queues): holding an arrow key never stalls the window.

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
                freeze_start_up_objects("review")

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
        freeze_start_up_objects("review")  # the ORM is set up now: out of the collector's full passes

    # -- saved filters and bulk assignment ---------------------------------------------
    def save_current_filter(self) -> None:
        current = self.sidebar.current_saved()
        name, ok = QInputDialog.getText(self, "Save filter", "Name of the filter:",
                                        text=current.name if current else "")
        if not ok or not name.strip():
            return
        try:
            saved = self.services.queue.save_filter(self.actor, name, self.current_filter())
        except ClearanceDeskError as error:
            from desktop_app.ui.common.errors import show_problems

            show_problems(self, "Save filter", error)
            return
        self.sidebar.set_saved(self.services.queue.saved_filters(self.actor), select_id=saved.id)
        self.statusBar().showMessage(f"Saved the filter “{saved.name}”", 5000)

    def delete_saved_filter(self, saved: SavedFilterInfo) -> None:
        answer = QMessageBox.question(self, "Delete saved filter", f"Delete the saved filter “{saved.name}”?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        was_current = self.sidebar.current_saved() == saved
        self.services.queue.delete_filter(self.actor, saved.id)
        self.sidebar.set_saved(self.services.queue.saved_filters(self.actor))
        if was_current:
            self.sidebar.setCurrentRow(0)

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
        from desktop_app.ui.threads import run_task

        queue, actor = self.services.queue, self.actor
        self.statusBar().showMessage(f"Assigning {len(ids):,} submissions…")
        self.setCursor(Qt.CursorShape.BusyCursor)
        run_task(lambda: queue.bulk_assign(actor, ids, assignee_id), on_done=self._assigned,
                 on_error=self._assign_failed, owner=self)

    def _assigned(self, result: BulkAssignResult) -> None:
        self.unsetCursor()
        parts = [f"Assigned {len(result.assigned):,}"]
        if result.unchanged:
            parts.append(f"{len(result.unchanged):,} already theirs")
        if result.skipped:
            parts.append(f"{len(result.skipped):,} skipped ({result.skipped[0][0]} {result.skipped[0][1]})")
        self.statusBar().showMessage("; ".join(parts), 10000)
        self.reload()

    def _assign_failed(self, error: Exception) -> None:
        from desktop_app.ui.common.errors import show_problems

        self.unsetCursor()
        self.statusBar().clearMessage()
        show_problems(self, "Assign submissions", error)

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

    # -- intake ------------------------------------------------------------------------
    def choose_package(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Import package", "", "Submission packages (*.zip);;All files (*)")
        if path:
            self.import_package(Path(path))

    def choose_package_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Import package folder")
        if folder:
            self.import_package(Path(folder))

    def import_package(self, path: Path) -> None:
        from desktop_app.ui.intake.import_dialog import import_with_dialogs

        if self.actor.role is Role.ADMIN:
            QMessageBox.information(self, "Import package", "Administrators do not import submissions.")
            return
        result = import_with_dialogs(self, self.services.intake, self.actor, Path(path))
        if result is not None:
            self.select_submission(result.submission_id)
            self.statusBar().showMessage(f"Imported {Path(path).name} as {result.reference}", 8000)

    def register_by_hand(self) -> None:
        from desktop_app.ui.intake.register_dialog import RegisterDialog

        dialog = RegisterDialog(self.services.intake, self.actor, self)
        if dialog.exec() and dialog.result_value is not None:
            self.select_submission(dialog.result_value.submission_id)

    def view_artifact(self, artifact_id: int) -> None:
        from desktop_app.ui.review.artifact_viewer import view_artifact
        from desktop_app.ui.review.eval_view import open_log_artifact

        if open_log_artifact(self, self.services, self.detail.detail, artifact_id) is None:
            view_artifact(self, self.services.artifacts, artifact_id)

    def open_evidence(self, evidence_id: int) -> None:
        """A cited evaluation sample, or an attached evaluation log, read-only (ui.review.eval_view)."""
        from desktop_app.ui.review.eval_view import open_evidence

        open_evidence(self, self.services, self.detail.detail, evidence_id)

    def open_changes(self, submission_id: int) -> None:
        """Changes since the previous submission (ui.review.diff_view); a carried-over finding refreshes the window."""
        from desktop_app.ui.review.diff_view import DiffDialog

        shown = self.detail.detail
        reference = shown.reference if shown is not None and shown.id == submission_id else ""
        dialog = DiffDialog(self.services, self.actor, submission_id, reference, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.carried.connect(lambda sid: self._review_changed(Changes(sid, "finding", "Finding carried over")))
        dialog.show()
        self.changes_dialog = dialog

    def save_artifact(self, artifact_id: int) -> None:
        from desktop_app.ui.review.artifact_viewer import save_artifact_copy

        target = save_artifact_copy(self, self.services.artifacts, artifact_id)
        if target is not None:
            self.statusBar().showMessage(f"Saved a copy as {target}", 8000)

    def attach_files(self, submission_id: int) -> None:
        from PySide6.QtWidgets import QFileDialog


        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files to the submission")
        if not paths:
            return
        intake, actor, files = self.services.intake, self.actor, [(Path(p), "other") for p in paths]
        # hashing whole files: on a worker (ui.operations), the detail refreshes from the bus
        Operation(self, lambda: intake.attach_files(actor, submission_id, files), title="Attach files").success(
            lambda _result: Changes(submission_id, "evidence", f"Attached {len(files)} file(s) by hand")).run()

    def open_users(self) -> None:
        from desktop_app.ui.admin.users import UsersDialog

        UsersDialog(self.services.users, self.actor, self).exec()

    def change_password(self) -> None:
        from desktop_app.ui.account.dialogs import ChangePasswordDialog

        if ChangePasswordDialog(self.services.users, self.actor, parent=self).exec():
            self.statusBar().showMessage("Password changed", 5000)

    def about(self) -> None:
        from desktop_app.ui.mainwindow.help import about_html

        QMessageBox.about(self, f"About {APP_NAME} {__version__}",
                          about_html(self.services.data_dir, self.services.database_label, self.services.ctx.paths.logs))

    # -- settings, palette and help (ui.admin.settings, ui.common.theme, ui.mainwindow.help) ----------
    def open_settings(self) -> None:
        from desktop_app.ui.admin.settings import SettingsDialog

        SettingsDialog(self.services, self.actor, self).exec()

    def _add_palette_menu(self, view_menu: QMenu) -> None:
        from PySide6.QtGui import QActionGroup

        from desktop_app.ui.common import theme

        menu = view_menu.addMenu("&Palette")
        group = QActionGroup(menu)
        self.palette_actions: dict[theme.PaletteChoice, QAction] = {}
        for choice in theme.PaletteChoice:
            action = self._action(choice.title, lambda _checked=False, c=choice: theme.apply(c), None,
                                  f"Use the {choice.value} palette (kept for next time)")
            action.setCheckable(True)
            action.setChecked(choice is theme.current_choice())
            group.addAction(action)
            menu.addAction(action)
            self.palette_actions[choice] = action

    def show_user_guide(self) -> None:
        from desktop_app.ui.mainwindow.help import UserGuide

        guide = UserGuide(self)
        guide.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        guide.show()

    def show_shortcuts(self) -> None:
        from desktop_app.ui.mainwindow.help import ShortcutsDialog

        ShortcutsDialog(self.menuBar(), self).exec()

    # -- persistence of window state ---------------------------------------------------
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

    # -- backups and logs (ui.admin.backup) ---------------------------------------
    def back_up_now(self) -> None:
        from desktop_app.ui.admin.backup import back_up_now

        result = back_up_now(self, self.services, self.actor)
        if result is not None:
            self.statusBar().showMessage(f"Backed up to {result.path}", 8000)

    def restore_backup(self) -> None:
        from desktop_app.ui.admin.backup import restore_backup

        if restore_backup(self, self.services, self.actor) is not None:
            self.auto_backup_on_close = False  # the data it would back up was just replaced
            self.close()

    def show_log_folder(self) -> None:
        from desktop_app.ui.admin.backup import LogFolderDialog

        LogFolderDialog(self.services.ctx.paths.logs, self).exec()

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
