"""A form whose OK runs one operation: the busy state, cancel and failures written once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from desktop_app.domain.errors import ClearanceDeskError, InputRejected
from desktop_app.ui.common.errors import error_label, show_error
from desktop_app.ui.threads import run_task


class OperationDialog(QDialog):
    """A form whose OK runs one service call off the GUI thread; failures stay in the dialog.

    Subclasses build their rows in `self.form`, register input widgets in `self.fields`
    (by the field name the service reports problems under) and implement `work()`,
    which reads the widgets on the GUI thread and returns the call to run.
    """

    succeeded = Signal(object)

    def __init__(self, title: str, intro: str = "", ok_text: str = "OK", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self.result_value: Any = None
        self.fields: dict[str, QWidget] = {}
        self.form = QFormLayout()
        self.error = error_label()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if intro:
            note = QLabel(intro)
            note.setWordWrap(True)
            note.setObjectName("introLabel")
            layout.addWidget(note)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)

    def work(self) -> Callable[[], Any]:
        raise NotImplementedError

    def submit(self) -> None:
        if self.busy.isVisible():
            return
        self.error.hide()
        try:
            call = self.work()
        except ClearanceDeskError as error:
            self._failed(error)
            return
        self._set_busy(True)
        run_task(call, on_done=self._done, on_error=self._failed)

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.buttons.setEnabled(not busy)
        for widget in self.fields.values():
            widget.setEnabled(not busy)

    def _done(self, result: Any) -> None:
        self._set_busy(False)
        self.result_value = result
        self.succeeded.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        show_error(self.error, error)
        if isinstance(error, InputRejected):
            for problem in error.problems:
                widget = self.fields.get(problem.field or "")
                if widget is not None:
                    widget.setFocus()
                    break

    def reject(self) -> None:
        if self.busy.isVisible():  # a save in flight finishes or fails on its own
            return
        super().reject()
