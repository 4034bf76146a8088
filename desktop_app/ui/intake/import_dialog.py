"""Importing a package from the GUI: progress off the GUI thread, cancel, refusal view.

The import runs in the operations' progress dialog (ui.operations.dialog): the worker
reports progress at most ten times a second and never touches a widget; this dialog
shows bytes and files done, the current file, the rate and the time left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, OperationCancelled
from desktop_app.domain.units import human_size
from desktop_app.services.context import Actor
from desktop_app.services.intake import ImportResult, IntakeService
from desktop_app.services.packages import ImportProgress
from desktop_app.ui.operations.dialog import ProgressDialog


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class ImportDialog(ProgressDialog):
    """Runs one import (ui.operations.dialog); `result_value` or `failure` is set when it ends."""

    imported = Signal(object)

    def __init__(self, intake: IntakeService, actor: Actor, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(f"Importing {Path(path).name}", parent=parent)
        self.intake, self.actor, self.path = intake, actor, Path(path)
        self.setMinimumWidth(520)
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName("Import progress")
        self.stage.setText(f"<b>{self.path.name}</b>")
        self.stage.setTextFormat(Qt.TextFormat.RichText)
        self.counts = QLabel("Checking the manifest…")
        self.current = QLabel("")
        self.current.setWordWrap(True)
        self.rate = self.amount
        for widget in (self.counts, self.current):
            self.content.addWidget(widget)
        self._started = time.monotonic()
        self.succeeded.connect(self.imported)

    def work(self) -> Callable[[Callable[[ImportProgress], None]], ImportResult]:
        intake, actor, path, cancelled = self.intake, self.actor, self.path, self.cancel_token
        self._started = time.monotonic()
        return lambda report: intake.import_package(actor, path, progress=report, cancelled=cancelled)

    def final_update(self, update: ImportProgress) -> bool:
        return update.bytes_done == update.bytes_total

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

    def show_cancelling(self) -> None:
        self.counts.setText("Cancelling… nothing will be kept")


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
        return dialog.result_value  # type: ignore[no-any-return]
    failure = dialog.failure
    if failure is not None and not isinstance(failure, OperationCancelled):
        if isinstance(failure, ClearanceDeskError):
            RefusalDialog(path, failure, parent).exec()
        else:
            RefusalDialog(path, InputRejected(f"unexpected error: {failure}"), parent).exec()
    return None
