"""What the window does with letters: the Letters tab's buttons and the letter menu entries.

The main window creates one `LetterActions` and connects the detail pane's letter
signals to it. What they change (a letter issued, revoked with its signed notice, or
corrected by a letter that supersedes it) goes on the one bus as `Changes`, so the
window refreshes the queue and the detail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QCheckBox, QLineEdit, QPlainTextEdit, QWidget

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, Problem
from desktop_app.domain.types import LetterKind, Role
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.ui.operations import ChangeKind, Changes, bus
from desktop_app.ui.operations.dialog import OperationDialog

if TYPE_CHECKING:  # the letter service and signing load on first use: the window is ready before them
    from desktop_app.services.letters import IssuedLetter, KeyFile, KeyToken, RegisterEntry


class _LetterAboutDialog(OperationDialog):
    """A signed letter about an earlier one: what it says, the signing key and the account password.

    The passphrase or PIN and the password go straight to the service call on a worker
    (re-authentication and signing take seconds) and every secret field is cleared after
    each attempt; only where the key is is remembered, as in the signing dialog.
    """

    def __init__(self, services: Services, actor: Actor, letter_id: int, *, title: str, intro: str, ok_text: str,
                 label: str, field: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(title, intro, ok_text, parent)
        self.services, self.actor, self.letter_id = services, actor, letter_id
        self.setMinimumWidth(600)
        self.text = QPlainTextEdit()
        self.text.setAccessibleName(label.replace("&", "").rstrip(":"))
        self.text.setPlaceholderText(placeholder)
        self.text.setTabChangesFocus(True)
        self.text.setMaximumHeight(110)
        self.form.addRow(label, self.text)
        self.fields[field] = self.text
        from desktop_app.ui.letters.signing import KeySourceWidget

        self.key = KeySourceWidget(parent=self)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Your account password")
        self.fields["key"] = self.key
        self.fields["account password"] = self.password
        self.form.addRow(self.key)
        self.form.addRow("Account pass&word:", self.password)
        self.text.setFocus()

    def credentials(self) -> tuple[KeyFile | KeyToken, str, str]:
        """(key source, passphrase or PIN, account password), read once and cleared from the form."""
        try:
            source, secret = self.key.source()
            password = self.password.text()
            if not password:
                raise InputRejected(Problem("enter your account password to confirm", field="account password"))
        finally:
            self.key.clear_secrets()
            self.password.clear()
        self.key.remember()
        return source, secret, password

    def reject(self) -> None:
        if not self.running:
            self.key.clear_secrets()
            self.password.clear()
        super().reject()


class RevokeDialog(_LetterAboutDialog):
    """Revoke a letter and sign the revocation notice the developer receives (`revoke_and_notify`)."""

    def __init__(self, services: Services, actor: Actor, letter_id: int, parent: QWidget | None = None) -> None:
        entry = services.letters.entry(letter_id)
        super().__init__(
            services, actor, letter_id, title=f"Revoke {entry.number}",
            intro=f"Revoking <b>{entry.number}</b> ({entry.reference}) records that it no longer stands, and signs "
                  f"a revocation notice to the developer that names {entry.number} and gives your reason. The "
                  "letter itself is kept unchanged; verifying it will fail the check “not revoked” from now on. "
                  "This cannot be undone.",
            ok_text="&Revoke and sign the notice", label="&Reason:", field="reason",
            placeholder="Why the letter no longer stands (printed in the notice and recorded in the audit trail)",
            parent=parent)
        self.reason = self.text

    def work(self) -> Callable[[], Any]:
        reason = self.reason.toPlainText()
        if not reason.strip():
            raise InputRejected(Problem("say why the letter is revoked", field="reason"))
        source, secret, password = self.credentials()
        letters, actor, letter_id = self.services.letters, self.actor, self.letter_id
        return lambda: letters.revoke_and_notify(actor, letter_id, reason, password=password, source=source,
                                                 secret=secret)


class CorrectedLetterDialog(_LetterAboutDialog):
    """Issue a corrected letter for the agency's own mistake (`issue_corrected`): it supersedes the letter."""

    def __init__(self, services: Services, actor: Actor, letter_id: int, parent: QWidget | None = None) -> None:
        entry = services.letters.entry(letter_id)
        decision = f" ({entry.decision.label})" if entry.decision else ""
        super().__init__(
            services, actor, letter_id, title=f"Issue a corrected letter for {entry.number}",
            intro=f"A signed letter cannot be changed. The corrected letter carries the same decision{decision}, "
                  f"names <b>{entry.number}</b> on its first page as the letter it replaces, and says what it "
                  f"corrects; {entry.number} stays in the register, marked superseded.",
            ok_text="&Sign the corrected letter", label="What is &corrected:", field="correction",
            placeholder="The agency's mistake in the earlier letter and what this letter corrects",
            parent=parent)
        self.correction = self.text
        self.appendix = QCheckBox("Include the findings &appendix (findings marked releasable)")
        self.appendix.setChecked(True)
        self.form.insertRow(1, "", self.appendix)
        self.fields["appendix"] = self.appendix

    def work(self) -> Callable[[], Any]:
        correction = self.correction.toPlainText()
        if not correction.strip():
            raise InputRejected(Problem("say what the corrected letter corrects", field="correction"))
        appendix = self.appendix.isChecked()
        source, secret, password = self.credentials()
        letters, actor, letter_id = self.services.letters, self.actor, self.letter_id
        return lambda: letters.issue_corrected(actor, letter_id, correction, password=password, source=source,
                                               secret=secret, appendix=appendix)


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

        save_letter(self.window, self.services.letters, letter_id,
                    lambda target: self._status(f"Saved {target.name} to {target.parent}"))

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

    def revoke_letter(self, letter_id: int) -> RevokeDialog:
        """Revoke with its signed notice; the dialog stays open on a refusal, the bus hears of the result."""
        dialog = RevokeDialog(self.services, self.actor, letter_id, self.window)

        def revoked(result: tuple[RegisterEntry, IssuedLetter]) -> Changes:
            entry, notice = result
            return Changes(entry.submission_id, ChangeKind.LETTERS,
                           f"{entry.number} revoked; revocation notice {notice.number} signed and issued")

        return self._open_dialog(dialog, revoked)

    def correct_letter(self, letter_id: int) -> CorrectedLetterDialog:
        """Issue a corrected letter that supersedes `letter_id`; the bus hears of it."""
        dialog = CorrectedLetterDialog(self.services, self.actor, letter_id, self.window)
        return self._open_dialog(dialog, lambda letter: Changes(
            letter.submission_id, ChangeKind.LETTERS,
            f"Corrected letter {letter.number} signed and issued; it supersedes {letter.supersedes}"))

    def _open_dialog(self, dialog: OperationDialog, change: Callable[[Any], Changes]) -> Any:
        """Show `dialog` without blocking (as the workflow's dialogs are); when it saves, announce `change(result)`."""
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.succeeded.connect(lambda result: bus().announce(change(result)))
        self._keep(dialog)
        dialog.open()
        return dialog

    def issue_notice(self, submission_id: int, kind: str) -> None:
        from desktop_app.ui.letters.signing import issue_notice_and_sign

        if issue_notice_and_sign(self.window, self.services, self.actor, submission_id, LetterKind(kind)):
            bus().announce(Changes(submission_id, ChangeKind.LETTERS, "Notice letter signed and issued"))

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
