"""Dialogs that run one operation: the busy state, cancel, progress and failures written once.

`OperationDialog` is a form whose OK runs one service call off the GUI thread (workflow
actions, findings, signing, registering by hand). `ProgressDialog` is the same without a
form, for long work that reports progress and can be cancelled (imports, backups,
restores). Both keep the dialog open while the work runs, refuse to close under it (or
cancel it, where the work checks a `CancelToken`) and show a failure in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, OperationCancelled
from desktop_app.domain.units import human_size
from desktop_app.ui.common.errors import error_label, show_error
from desktop_app.ui.threads import CancelToken, Task, run_task

#: A worker reports progress at most this often (a large file produces hundreds of chunks a second).
PROGRESS_INTERVAL_S = 0.1


class OperationDialog(QDialog):
    """A form whose OK runs one service call off the GUI thread; failures stay in the dialog.

    Subclasses add their widgets to `self.content` (above the form) or rows to `self.form`,
    register input widgets in `self.fields` (by the field name the service reports problems
    under, so the first bad one gets the focus) and implement `work()`, which reads the
    widgets on the GUI thread and returns the call to run. With `reports_progress` the call
    is given a `report(update)` function (updates arrive in `show_progress`); with
    `cancellable`, Cancel while it runs sets `self.cancel_token`, which the call checks.
    """

    succeeded = Signal(object)

    def __init__(self, title: str, intro: str = "", ok_text: str = "OK", parent: QWidget | None = None, *,
                 cancellable: bool = False, reports_progress: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self.cancellable, self.reports_progress = cancellable, reports_progress
        self.result_value: Any = None
        self.failure: BaseException | None = None
        self.cancel_token = CancelToken()
        self.running = False
        self._task: Task | None = None
        self.fields: dict[str, QWidget] = {}
        self.form = QFormLayout()
        self.error = error_label()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.setAccessibleName(f"{title} progress")
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.content = QVBoxLayout()
        self.content.setContentsMargins(0, 0, 0, 0)
        if intro:
            note = QLabel(intro)
            note.setWordWrap(True)
            note.setObjectName("introLabel")
            self.content.addWidget(note)
        self.content.addLayout(self.form)
        layout = QVBoxLayout(self)
        layout.addLayout(self.content)
        layout.addWidget(self.error)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)

    # -- what subclasses give ------------------------------------------------------------
    def work(self) -> Callable[..., Any]:
        raise NotImplementedError

    def show_progress(self, update: Any) -> None:
        """An update the call reported (GUI thread); a bar that knows its end shows it."""

    def final_update(self, update: Any) -> bool:
        """True for the last update (always shown, however soon after the one before)."""
        return False

    def completed(self, result: Any) -> bool:
        """The result, on the GUI thread, before the dialog closes; False keeps it open."""
        return True

    # -- running -------------------------------------------------------------------------
    def submit(self) -> None:
        if self.running:
            return
        self.error.hide()
        self.failure = None
        self.cancel_token = CancelToken()
        try:
            call = self.work()
        except ClearanceDeskError as error:
            self._failed(error)
            return
        self._set_busy(True)
        if self.reports_progress:
            throttle = self._throttle

            def with_report(report: Callable[[Any], None]) -> Any:
                return call(throttle(report))

            self._task = run_task(with_report, with_progress=True, on_progress=self.show_progress,
                                  on_done=self._done, on_error=self._failed)
        else:
            self._task = run_task(call, on_done=self._done, on_error=self._failed)

    def _throttle(self, report: Callable[[Any], None]) -> Callable[[Any], None]:
        """`report` at most every PROGRESS_INTERVAL_S, and always the last update (runs on the worker)."""
        last = [0.0]

        def throttled(update: Any) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL_S or self.final_update(update):
                last[0] = now
                report(update)

        return throttled

    def _set_busy(self, busy: bool) -> None:
        self.running = busy
        self.busy.setVisible(busy)
        self.buttons.setEnabled(not busy or self.cancellable)
        self.ok_button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy or self.cancellable)
        for widget in self.fields.values():
            widget.setEnabled(not busy)

    def _done(self, result: Any) -> None:
        self._set_busy(False)
        self.result_value = result
        if not self.completed(result):
            return
        self.succeeded.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.failure = error
        if isinstance(error, OperationCancelled):
            super().reject()  # cancelled: nothing was changed, nothing to say
            return
        self.show_failure(error)

    def show_failure(self, error: BaseException) -> None:
        """The one place a failure is shown: under the form, the first field it names focused."""
        show_error(self.error, error)
        if isinstance(error, InputRejected):
            for problem in error.problems:
                widget = self.fields.get(problem.field or "")
                if widget is not None:
                    widget.setFocus()
                    break

    # -- cancel and close ----------------------------------------------------------------
    def reject(self) -> None:
        if not self.running:
            super().reject()
        elif self.cancellable and not self.cancel_token.cancelled:
            self.cancel_token.cancel()
            self.cancel_button.setEnabled(False)
            self.show_cancelling()
        # else: work that cannot be cancelled (a signature, a save) finishes or fails on its own

    def show_cancelling(self) -> None:
        self.error.setText("Cancelling… nothing will be changed")
        self.error.show()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - closing the window while it runs means Cancel
        if self.running:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)


class ProgressDialog(OperationDialog):
    """Long work without a form: it starts when the dialog opens and shows what it is doing.

    `work(progress, cancelled)` runs on a worker; it calls `progress(message, done, total)`
    and checks `cancelled()` between chunks. When it ends, `result_value` or `failure` is
    set and the dialog closes (accepted or rejected); the caller says what came of it.
    """

    def __init__(self, title: str, work: Callable[[Callable[[str, int, int], None], CancelToken], Any] | None = None,
                 parent: QWidget | None = None, *, cancellable: bool = True) -> None:
        super().__init__(title, parent=parent, cancellable=cancellable, reports_progress=True)
        self.setMinimumWidth(480)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._work = work
        self.ok_button.hide()
        self.cancel_button.setVisible(cancellable)
        self.busy.setMaximumHeight(16777215)
        self.busy.show()
        self.bar = self.busy
        self.stage = QLabel("Starting…")
        self.stage.setWordWrap(True)
        self.amount = QLabel("")
        #: How "done of total" reads under the bar (bytes unless the work counts something else).
        self.amount_text: Callable[[int, int], str] = lambda done, total: f"{human_size(done)} of {human_size(total)}"
        self.content.addWidget(self.stage)
        self.layout().insertWidget(self.layout().indexOf(self.busy) + 1, self.amount)

    def work(self) -> Callable[[Callable[[Any], None]], Any]:
        work, token = self._work, self.cancel_token
        assert work is not None, "give ProgressDialog its work or override work()"
        return lambda report: work(lambda message, done, total: report((message, done, total)), token)

    def start(self) -> None:
        self.submit()

    def exec(self) -> int:  # noqa: A003
        self.start()
        return super().exec()

    def _set_busy(self, busy: bool) -> None:
        super()._set_busy(busy)
        self.busy.show()  # the bar is the dialog's content

    def final_update(self, update: tuple[str, int, int]) -> bool:
        _message, done, total = update
        return bool(total) and done >= total

    def show_progress(self, update: tuple[str, int, int]) -> None:
        message, done, total = update
        self.stage.setText(message)
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(done, total) / total))
            self.amount.setText(self.amount_text(done, total))
        else:
            self.bar.setRange(0, 0)

    def show_cancelling(self) -> None:
        self.stage.setText("Cancelling… nothing will be changed")

    def show_failure(self, error: BaseException) -> None:
        self.done(QDialog.DialogCode.Rejected)  # the caller shows what failed, with what it knows
