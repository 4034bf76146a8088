"""What the window does with letters: the Letters tab's buttons and the letter menu entries.

The main window creates one `LetterActions` and connects the detail pane's letter
signals to it; `changed` fires with the submission id after a letter is issued or
revoked, so the window refreshes the queue and the detail.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
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
from desktop_app.ui.common.errors import error_label, show_error
from desktop_app.ui.operations import Changes, bus
from desktop_app.ui.threads import run_task


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
        self.buttons = buttons
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Revoke letter")
        buttons.accepted.connect(self.revoke)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def revoke(self) -> None:
        """Re-authentication (argon2) and the revocation run on a worker; the dialog waits, responsive."""
        if not self.buttons.isEnabled():
            return
        password = self.password.text()
        self.password.clear()
        if not password:
            show_error(self.error, InputRejected(Problem("enter your account password to confirm",
                                                         field="account password")))
            return
        letters, actor, letter_id, reason = self.services.letters, self.actor, self.letter_id, self.reason.toPlainText()
        self.buttons.setEnabled(False)
        self.error.hide()

        def failed(error: Exception) -> None:
            self.buttons.setEnabled(True)
            show_error(self.error, error)

        run_task(lambda: letters.revoke(actor, letter_id, reason, password=password),
                 on_done=lambda _result: self.accept(), on_error=failed, owner=self)

    def reject(self) -> None:
        if self.buttons.isEnabled():  # a revocation in flight finishes or fails on its own
            super().reject()


class LetterActions(QObject):
    """The Letters tab's and menus' letter actions; what they change goes on the bus (ui.operations)."""

    def __init__(self, window: QWidget, services: Services, actor: Actor) -> None:
        super().__init__(window)
        self.window, self.services, self.actor = window, services, actor
        self._open: list[QWidget] = []

    @property
    def can_sign(self) -> bool:
        return self.actor.role is Role.SUPERVISOR

    def open_letter(self, letter_id: int) -> None:
        from desktop_app.ui.letters.viewer import open_letter

        viewer = open_letter(self.window, self.services.letters, letter_id)
        if viewer is not None:
            self._keep(viewer)

    def save_letter(self, letter_id: int) -> None:
        from desktop_app.ui.letters.viewer import save_letter

        target = save_letter(self.window, self.services.letters, letter_id)
        if target is not None:
            self._status(f"Saved {target.name} to {target.parent}")

    def print_letter(self, letter_id: int) -> None:
        from desktop_app.ui.letters.viewer import print_letter

        print_letter(self.window, self.services.letters, letter_id)

    def verify_letter(self, letter_id: int) -> None:
        from desktop_app.ui.common.errors import show_problems
        from desktop_app.ui.letters.verify import VerifyDialog

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
        from desktop_app.ui.letters.verify import VerifyDialog

        dialog = VerifyDialog(self.services.letters, self.window)
        dialog.show()
        self._keep(dialog)

    def verify_printed(self) -> None:
        from desktop_app.ui.letters.printed import PrintedLetterDialog

        dialog = PrintedLetterDialog(self.services, self.window)
        dialog.show()
        self._keep(dialog)

    def open_register(self) -> None:
        from desktop_app.ui.letters.register import RegisterDialog

        dialog = RegisterDialog(self.services, self.actor, self.window)
        dialog.open_requested.connect(self.open_letter)
        dialog.show()
        self._keep(dialog)

    def revoke_letter(self, letter_id: int) -> None:
        dialog = RevokeDialog(self.services, self.actor, letter_id, self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            entry = self.services.letters.entry(letter_id)
            bus().announce(Changes(entry.submission_id, "letters", f"{entry.number} revoked"))

    def issue_notice(self, submission_id: int, kind: str) -> None:
        from desktop_app.ui.letters.signing import issue_notice_and_sign

        if issue_notice_and_sign(self.window, self.services, self.actor, submission_id, LetterKind(kind)):
            bus().announce(Changes(submission_id, "letters", "Notice letter signed and issued"))

    def approve(self, submission_id: int) -> bool:
        from desktop_app.ui.letters.signing import approve_and_sign

        issued = approve_and_sign(self.window, self.services, self.actor, submission_id)
        if issued:
            self._status("Approved; the signed letter is in the Letters tab")  # the review controller announces it
        return issued

    def trust_admin(self) -> None:
        from desktop_app.ui.letters.trust import TrustDialog

        TrustDialog(self.services.letters.trust, self.actor, self.window).exec()

    def _keep(self, widget: QWidget) -> None:
        self._open.append(widget)
        widget.finished.connect(lambda _code: self._open.remove(widget) if widget in self._open else None)  # type: ignore[attr-defined]

    def _status(self, message: str) -> None:
        bar = getattr(self.window, "statusBar", None)
        if callable(bar):
            bar().showMessage(message, 8000)
