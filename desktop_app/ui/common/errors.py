"""The one way a failure reaches the user: a line in the dialog, or a message box.

Rejected input lists each problem on a line of its own, naming the field; an expected
refusal is its own sentence; anything else says it was unexpected and that the details
are in the log file, never a traceback.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from desktop_app.domain.errors import ClearanceDeskError, InputRejected
from desktop_app.ui.common import theme


def error_label() -> QLabel:
    """The red (palette-aware), selectable, initially hidden line where a dialog shows a refusal."""
    label = QLabel()
    label.setObjectName("errorLabel")
    label.setWordWrap(True)
    theme.colour_text(label, "error")  # per palette: dark red is unreadable on dark
    label.setAccessibleName("Error message")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def problem_text(error: BaseException) -> str:
    """What the user is told of a failure: each problem of rejected input on a line of its own."""
    if isinstance(error, InputRejected):
        subject = f"{error.subject}\n\n" if error.subject else ""
        return subject + "\n".join(f"• {problem}" for problem in error.problems)
    if isinstance(error, ClearanceDeskError):
        return str(error)
    return f"Unexpected error: {type(error).__name__}: {error} (details are in the log file)"


def show_error(label: QLabel, error: BaseException) -> None:
    label.setText(problem_text(error))
    label.show()


def show_problems(parent: QWidget, title: str, error: Exception) -> None:
    """One place that shows an expected failure to the user."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, problem_text(error), QMessageBox.StandardButton.Ok, parent)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()


#: Boxes without a parent widget, kept here until closed (nothing else would hold them).
_unparented: set[QMessageBox] = set()


def show_failure(parent: QWidget | None, title: str, error: BaseException) -> QMessageBox:
    """Show a failure without blocking (the window keeps painting); the box deletes itself.

    Without a parent (the dialog that asked was closed meanwhile) the box would be collected
    as soon as this returns, unseen; it is held until the user closes it.
    """
    box = QMessageBox(QMessageBox.Icon.Warning, title, problem_text(error), QMessageBox.StandardButton.Ok, parent)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if parent is None:
        _unparented.add(box)
        box.finished.connect(lambda _result, box=box: _unparented.discard(box))
    box.open()
    return box
