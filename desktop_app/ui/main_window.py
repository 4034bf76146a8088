"""The main window: status sidebar, the queue, and the selected submission's detail."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME, __version__
from desktop_app.domain.types import Role, SubmissionState
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.queue import QueueColumn, QueueFilter
from desktop_app.ui import icons
from desktop_app.ui.detail_pane import DetailPane
from desktop_app.ui.queue_model import QueueModel

log = logging.getLogger("clearance_desk.ui")

SEARCH_DEBOUNCE_MS = 150
_VIEW_ROLE = Qt.ItemDataRole.UserRole + 10


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
    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services, self.actor = services, actor
        self.setWindowTitle(f"{APP_NAME} — {actor.label} ({actor.role.value})")
        self.setWindowIcon(icons.icon("app"))
        self.resize(1440, 880)
        self.model = QueueModel(services.queue, self)
        self.queue = self._build_queue_view()
        self.sidebar = self._build_sidebar()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search reference, developer or model (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the queue")
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.detail = DetailPane()
        self.detail.artifact_activated.connect(self.view_artifact)
        self.detail.artifact_save_requested.connect(self.save_artifact)
        self.detail.attach_requested.connect(self.attach_files)
        self.queue.setAcceptDrops(True)
        self.queue.package_dropped.connect(self.import_package)
        self.splitter = self._build_layout()
        self.status_user = QLabel(f"Signed in as {actor.label} ({actor.role.value})")
        self.status_count = QLabel()
        self.statusBar().addWidget(self.status_user)
        self.statusBar().addPermanentWidget(self.status_count)
        self._build_menus()
        self._restore_state()
        self.reload()
        if self.model.rowCount() and not self.queue.currentIndex().isValid():
            self.queue.selectRow(0)
        self.queue.setFocus()

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
        for column, width in ((QueueColumn.REFERENCE, 110), (QueueColumn.DEVELOPER, 190), (QueueColumn.MODEL, 140),
                              (QueueColumn.STATUS, 120), (QueueColumn.ASSIGNEE, 130), (QueueColumn.RECEIVED, 90),
                              (QueueColumn.DUE, 90), (QueueColumn.DAYS_LEFT, 110), (QueueColumn.SEVERITY, 110),
                              (QueueColumn.OPEN_FINDINGS, 100)):
            view.setColumnWidth(column, width)
        view.selectionModel().currentRowChanged.connect(lambda current, _prev: self.show_row(current.row()))
        view.open_requested.connect(self.show_row)
        return view

    def _build_sidebar(self) -> QListWidget:
        sidebar = QListWidget()
        sidebar.setAccessibleName("Queue views")
        sidebar.setMaximumWidth(240)
        views: list[tuple[str, object]] = [("All submissions", "all"), ("Assigned to me", "mine"),
                                           ("Overdue", "overdue"), ("Due within 7 days", "week")]
        views += [(state.label, f"state:{state.value}") for state in SubmissionState]
        for label, key in views:
            item = QListWidgetItem(label)
            item.setData(_VIEW_ROLE, key)
            sidebar.addItem(item)
        sidebar.setCurrentRow(0)
        sidebar.currentRowChanged.connect(lambda _row: self.apply_filter())
        return sidebar

    def _build_layout(self) -> QSplitter:
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.queue)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(self.sidebar)
        splitter.addWidget(centre)
        splitter.addWidget(self.detail)
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
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self._action("&Refresh", self.reload, QKeySequence.StandardKey.Refresh))
        view_menu.addAction(self._action("&Find…", self.focus_search, QKeySequence.StandardKey.Find))
        view_menu.addAction(self._action("Go to &queue", lambda: self.queue.setFocus(), "Ctrl+1"))
        view_menu.addAction(self._action("Go to &detail", lambda: self.detail.setFocus(), "Ctrl+2"))
        if self.actor.role is Role.ADMIN:
            admin_menu = bar.addMenu("&Admin")
            admin_menu.addAction(self._action("&Users…", self.open_users, "Ctrl+Shift+U"))
        account_menu = bar.addMenu("A&ccount")
        account_menu.addAction(self._action("Change &password…", self.change_password))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&About Clearance Desk", self.about, "F1"))

    # -- behaviour -----------------------------------------------------------------
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def current_filter(self) -> QueueFilter:
        item = self.sidebar.currentItem()
        key = str(item.data(_VIEW_ROLE)) if item else "all"
        kwargs: dict[str, object] = {"text": self.search.text()}
        if key.startswith("state:"):
            kwargs["states"] = frozenset({SubmissionState(key.removeprefix("state:"))})
        elif key == "mine":
            kwargs["assignee_id"] = self.actor.user_id
        elif key == "overdue":
            kwargs["overdue"] = True
        elif key == "week":
            kwargs["due_within_days"] = 7
        return QueueFilter(**kwargs)  # type: ignore[arg-type]

    def apply_filter(self) -> None:
        self._reload_keeping_selection(self.current_filter())

    def reload(self) -> None:
        self._reload_keeping_selection(self.current_filter())

    def _reload_keeping_selection(self, flt: QueueFilter) -> None:
        started = time.perf_counter()
        selected = self.selected_ids()
        current_id = self.current_id()
        scroll = self.queue.verticalScrollBar().value()
        self.model.set_filter(flt)
        self._restore_selection(selected, current_id)
        if current_id is None:
            self.queue.verticalScrollBar().setValue(scroll)
        self._update_counts(flt)
        log.debug("queue reloaded in %.1f ms", (time.perf_counter() - started) * 1000)

    def _restore_selection(self, ids: list[int], current_id: int | None) -> None:
        selection = self.queue.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for sid in ids:
            row = self.model.row_for_id(sid)
            if row is not None:
                selection.select(self.model.index(row, 0), flags)
        if current_id is not None:
            row = self.model.row_for_id(current_id)
            if row is not None:
                selection.setCurrentIndex(self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
                self.queue.scrollTo(self.model.index(row, 0))
            else:
                self.detail.clear()

    def _update_counts(self, flt: QueueFilter) -> None:
        counts = self.services.queue.status_counts(flt)
        for i in range(self.sidebar.count()):
            item = self.sidebar.item(i)
            key = str(item.data(_VIEW_ROLE))
            if key.startswith("state:"):
                state = SubmissionState(key.removeprefix("state:"))
                item.setText(f"{state.label}  ({counts[state]:,})")
        self.status_count.setText(f"{self.model.rowCount():,} submissions shown")

    def selected_ids(self) -> list[int]:
        return [self.model.id_at(index.row()) for index in self.queue.selectionModel().selectedRows()]

    def current_id(self) -> int | None:
        index = self.queue.currentIndex()
        return self.model.id_at(index.row()) if index.isValid() else None

    def select_submission(self, submission_id: int) -> None:
        self.reload()
        row = self.model.row_for_id(submission_id)
        if row is None:
            self.sidebar.setCurrentRow(0)
            self.search.clear()
            self.reload()
            row = self.model.row_for_id(submission_id)
        if row is not None:
            self.queue.selectRow(row)
            self.queue.scrollTo(self.model.index(row, 0))

    def show_row(self, row: int) -> None:
        if row < 0 or row >= self.model.rowCount():
            self.detail.clear()
            return
        submission_id = self.model.id_at(row)
        detail = self.services.submissions.detail(submission_id)
        history = self.services.submissions.history(submission_id)
        self.detail.show_submission(detail, history)

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
        from desktop_app.ui.import_dialog import import_with_dialogs

        if self.actor.role is Role.ADMIN:
            QMessageBox.information(self, "Import package", "Administrators do not import submissions.")
            return
        result = import_with_dialogs(self, self.services.intake, self.actor, Path(path))
        if result is not None:
            self.select_submission(result.submission_id)
            self.statusBar().showMessage(f"Imported {Path(path).name} as {result.reference}", 8000)

    def register_by_hand(self) -> None:
        from desktop_app.ui.register_dialog import RegisterDialog

        dialog = RegisterDialog(self.services.intake, self.actor, self)
        if dialog.exec() and dialog.result_value is not None:
            self.select_submission(dialog.result_value.submission_id)

    def view_artifact(self, artifact_id: int) -> None:
        from desktop_app.ui.artifact_viewer import view_artifact

        view_artifact(self, self.services.artifacts, artifact_id)

    def save_artifact(self, artifact_id: int) -> None:
        from desktop_app.ui.artifact_viewer import save_artifact_copy

        target = save_artifact_copy(self, self.services.artifacts, artifact_id)
        if target is not None:
            self.statusBar().showMessage(f"Saved a copy as {target}", 8000)

    def attach_files(self, submission_id: int) -> None:
        from PySide6.QtWidgets import QFileDialog

        from desktop_app.domain.errors import ClearanceDeskError
        from desktop_app.ui.dialogs import show_problems

        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files to the submission")
        if not paths:
            return
        try:
            self.services.intake.attach_files(self.actor, submission_id, [(Path(p), "other") for p in paths])
        except ClearanceDeskError as error:
            show_problems(self, "Attach files", error)
            return
        self.show_row(self.queue.currentIndex().row())

    def open_users(self) -> None:
        from desktop_app.ui.users_dialog import UsersDialog

        UsersDialog(self.services.users, self.actor, self).exec()

    def change_password(self) -> None:
        from desktop_app.ui.dialogs import ChangePasswordDialog

        if ChangePasswordDialog(self.services.users, self.actor, parent=self).exec():
            self.statusBar().showMessage("Password changed", 5000)

    def about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<h3>{APP_NAME} {__version__}</h3>"
                          f"<p>Pre-release security review of frontier AI models.</p>"
                          f"<p>Data folder: {self.services.data_dir}<br>"
                          f"Database: {self.services.database_label}</p>")

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

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        settings = QSettings()
        settings.setValue("main/geometry", self.saveGeometry())
        settings.setValue("main/splitter", self.splitter.saveState())
        settings.setValue("main/queueHeader", self.queue.horizontalHeader().saveState())
        super().closeEvent(event)
