"""Importing a package from the GUI: progress off the GUI thread, cancel, refusal view.

The worker reports progress at most ten times a second (a large shard produces hundreds
of chunks a second) and never touches a widget; the dialog shows bytes and files done,
the current file, the rate and the time left.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, OperationCancelled
from desktop_app.domain.units import human_size
from desktop_app.services.context import Actor
from desktop_app.services.intake import ImportResult, IntakeService
from desktop_app.services.packages import ImportProgress
from desktop_app.ui.threads import CancelToken, Task, run_task

PROGRESS_INTERVAL_S = 0.1


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class ImportDialog(QDialog):
    """Runs one import; `result` or `error` is set when it ends."""

    imported = Signal(object)

    def __init__(self, intake: IntakeService, actor: Actor, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intake, self.actor, self.path = intake, actor, Path(path)
        self.result_value: ImportResult | None = None
        self.error: Exception | None = None
        self.setWindowTitle(f"Importing {self.path.name}")
        self.setMinimumWidth(520)
        self.title = QLabel(f"<b>{self.path.name}</b>")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName("Import progress")
        self.counts = QLabel("Checking the manifest…")
        self.current = QLabel("")
        self.current.setWordWrap(True)
        self.rate = QLabel("")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.cancel)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.bar, self.counts, self.current, self.rate, self.buttons):
            layout.addWidget(widget)
        self._started = time.monotonic()
        self._task: Task | None = None
        self._cancel = CancelToken()

    def start(self) -> None:
        last = [0.0]

        def work(report: object) -> ImportResult:
            def progress(update: ImportProgress) -> None:
                now = time.monotonic()
                if now - last[0] >= PROGRESS_INTERVAL_S or update.bytes_done == update.bytes_total:
                    last[0] = now
                    report(update)  # type: ignore[operator]

            return self.intake.import_package(self.actor, self.path, progress=progress, cancelled=self._cancel)

        self._started = time.monotonic()
        self._task = run_task(work, with_progress=True, on_done=self._done, on_error=self._failed,
                              on_progress=self.show_progress)

    def exec(self) -> int:  # noqa: A003
        self.start()
        return super().exec()

    def show_progress(self, update: ImportProgress) -> None:
        total = max(update.bytes_total, 1)
        self.bar.setValue(int(1000 * update.bytes_done / total))
        self.counts.setText(f"{human_size(update.bytes_done)} of {human_size(update.bytes_total)} · "
                            f"file {min(update.files_done + 1, update.files_total)} of {update.files_total}")
        self.current.setText(f"Hashing {update.current_path}")
        elapsed = time.monotonic() - self._started
        if elapsed > 0.2 and update.bytes_done:
            rate = update.bytes_done / elapsed
            left = (update.bytes_total - update.bytes_done) / rate if rate else 0
            self.rate.setText(f"{human_size(int(rate))}/s · about {format_duration(left)} left")

    def cancel(self) -> None:
        if self._task is not None and self.result_value is None and self.error is None:
            self._cancel.cancel()
            self.counts.setText("Cancelling… nothing will be kept")
            self.buttons.setEnabled(False)
        else:
            self.reject()

    def _done(self, result: ImportResult) -> None:
        self.result_value = result
        self.imported.emit(result)
        self.accept()

    def _failed(self, error: Exception) -> None:
        self.error = error
        if isinstance(error, OperationCancelled):
            self.reject()
            return
        self.done(QDialog.DialogCode.Rejected)


class RefusalDialog(QDialog):
    """Every problem found in a refused package, each naming its file or manifest field."""

    def __init__(self, path: Path, error: Exception, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Package refused")
        self.setMinimumSize(640, 360)
        problems = error.problems if isinstance(error, InputRejected) else []
        heading = QLabel(f"<b>{Path(path).name}</b> was not imported. Nothing was written.<br>"
                         f"{len(problems) or 1} problem{'s' if len(problems) != 1 else ''} found:")
        heading.setWordWrap(True)
        self.problems = QListWidget()
        self.problems.setAccessibleName("Problems found in the package")
        self.problems.setWordWrap(True)
        for problem in problems or [str(error)]:
            item = QListWidgetItem(str(problem))
            item.setToolTip(str(problem))
            self.problems.addItem(item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.problems)
        layout.addWidget(buttons)


def import_with_dialogs(parent: QWidget, intake: IntakeService, actor: Actor, path: Path) -> ImportResult | None:
    """The whole GUI flow for one package: progress, then the result or the refusal."""
    dialog = ImportDialog(intake, actor, path, parent)
    dialog.exec()
    if dialog.result_value is not None:
        return dialog.result_value
    if dialog.error is not None and not isinstance(dialog.error, OperationCancelled):
        if isinstance(dialog.error, ClearanceDeskError):
            RefusalDialog(path, dialog.error, parent).exec()
        else:
            RefusalDialog(path, InputRejected(f"unexpected error: {dialog.error}"), parent).exec()
    return None
