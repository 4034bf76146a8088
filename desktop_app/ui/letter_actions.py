"""What the window does with letters: the Letters tab's buttons and the letter menu entries.

The main window creates one `LetterActions` and connects the detail pane's letter
signals to it; `changed` fires with the submission id after a letter is issued or
revoked, so the window refreshes the queue and the detail.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, Problem
from desktop_app.domain.types import LetterKind, Role
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.ui.letter_signing import error_label, show_error


class RevokeDialog(QDialog):
    """Reason and password; the letter stays in the register, marked revoked."""

    def __init__(self, services: Services, actor: Actor, letter_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.actor, self.letter_id = services, actor, letter_id
        entry = services.letters.entry(letter_id)
        self.setWindowTitle(f"Revoke {entry.number}")
        self.setMinimumWidth(520)
        intro = QLabel(f"Revoking <b>{entry.number}</b> ({entry.reference}) records that it no longer stands. "
                       "The letter itself is kept unchanged; verifying it will fail the check "
                       "“not revoked” from now on. This cannot be undone.")
        intro.setWordWrap(True)
        self.reason = QPlainTextEdit()
        self.reason.setAccessibleName("Reason for revocation")
        self.reason.setPlaceholderText("Why the letter no longer stands (recorded in the audit trail)")
        self.reason.setMaximumHeight(96)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Your account password")
        form = QFormLayout()
        form.addRow("&Reason:", self.reason)
        form.addRow("Account pass&word:", self.password)
        self.error = error_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Revoke letter")
        buttons.accepted.connect(self.revoke)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def revoke(self) -> None:
        password = self.password.text()
        self.password.clear()
        try:
            if not password:
                raise InputRejected(Problem("enter your account password to confirm", field="account password"))
            self.services.letters.revoke(self.actor, self.letter_id, self.reason.toPlainText(), password=password)
        except ClearanceDeskError as error:
            show_error(self.error, error)
            return
        self.accept()


class LetterActions(QObject):
    changed = Signal(int)

    def __init__(self, window: QWidget, services: Services, actor: Actor) -> None:
        super().__init__(window)
        self.window, self.services, self.actor = window, services, actor
        self._open: list[QWidget] = []

    @property
    def can_sign(self) -> bool:
        return self.actor.role is Role.SUPERVISOR

    def open_letter(self, letter_id: int) -> None:
        from desktop_app.ui.letter_viewer import open_letter

        viewer = open_letter(self.window, self.services.letters, letter_id)
        if viewer is not None:
            self._keep(viewer)

    def save_letter(self, letter_id: int) -> None:
        from desktop_app.ui.letter_viewer import save_letter

        target = save_letter(self.window, self.services.letters, letter_id)
        if target is not None:
            self._status(f"Saved {target.name} to {target.parent}")

    def print_letter(self, letter_id: int) -> None:
        from desktop_app.ui.letter_viewer import print_letter

        print_letter(self.window, self.services.letters, letter_id)

    def verify_letter(self, letter_id: int) -> None:
        from desktop_app.ui.dialogs import show_problems
        from desktop_app.ui.letter_verify import VerifyDialog

        try:
            entry = self.services.letters.entry(letter_id)
            pdf = self.services.letters.pdf(letter_id)
        except ClearanceDeskError as error:
            show_problems(self.window, "Cannot verify this letter", error)
            return
        dialog = VerifyDialog(self.services.letters, self.window)
        dialog.verify_bytes(pdf, f"{entry.number} (from the register)")
        dialog.show()
        self._keep(dialog)

    def verify_file(self) -> None:
        from desktop_app.ui.letter_verify import VerifyDialog

        dialog = VerifyDialog(self.services.letters, self.window)
        dialog.show()
        self._keep(dialog)

    def verify_printed(self) -> None:
        from desktop_app.ui.printed_letter import PrintedLetterDialog

        dialog = PrintedLetterDialog(self.services, self.window)
        dialog.show()
        self._keep(dialog)

    def open_register(self) -> None:
        from desktop_app.ui.letter_register import RegisterDialog

        dialog = RegisterDialog(self.services, self.actor, self.window)
        dialog.open_requested.connect(self.open_letter)
        dialog.show()
        self._keep(dialog)

    def revoke_letter(self, letter_id: int) -> None:
        dialog = RevokeDialog(self.services, self.actor, letter_id, self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            entry = self.services.letters.entry(letter_id)
            self._status(f"{entry.number} revoked")
            self.changed.emit(entry.submission_id)

    def issue_notice(self, submission_id: int, kind: str) -> None:
        from desktop_app.ui.letter_signing import issue_notice_and_sign

        if issue_notice_and_sign(self.window, self.services, self.actor, submission_id, LetterKind(kind)):
            self._status("Notice letter signed and issued")
            self.changed.emit(submission_id)

    def approve(self, submission_id: int) -> bool:
        from desktop_app.ui.letter_signing import approve_and_sign

        issued = approve_and_sign(self.window, self.services, self.actor, submission_id)
        if issued:
            self._status("Approved; the signed letter is in the Letters tab")
            self.changed.emit(submission_id)
        return issued

    def trust_admin(self) -> None:
        from desktop_app.ui.letter_trust import TrustDialog

        TrustDialog(self.services.letters.trust, self.actor, self.window).exec()

    def _keep(self, widget: QWidget) -> None:
        self._open.append(widget)
        widget.finished.connect(lambda _code: self._open.remove(widget) if widget in self._open else None)  # type: ignore[attr-defined]

    def _status(self, message: str) -> None:
        bar = getattr(self.window, "statusBar", None)
        if callable(bar):
            bar().showMessage(message, 8000)
