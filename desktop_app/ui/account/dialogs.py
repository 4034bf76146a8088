"""Sign-in, first-run and password dialogs.

Passwords are passed straight to the user service and never kept in an attribute
longer than the call.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME
from desktop_app.domain.errors import ClearanceDeskError, InputRejected
from desktop_app.services.context import Actor
from desktop_app.services.users import UserService
from desktop_app.ui.common.errors import error_label, problem_text, show_error, show_problems


def _password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


class LoginDialog(QDialog):
    """Sign in; on success `actor` holds who signed in."""

    def __init__(self, users: UserService, *, hint: str = "", username: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users = users
        self.actor: Actor | None = None
        self.setWindowTitle(f"Sign in — {APP_NAME}")
        self.setMinimumWidth(400)
        self.username = QLineEdit(username)
        self.username.setAccessibleName("User name")
        self.password = _password_field("Password")
        self.error = error_label()
        form = QFormLayout()
        form.addRow("&User name:", self.username)
        form.addRow("&Password:", self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Sign in")
        buttons.accepted.connect(self.try_sign_in)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>{APP_NAME}</h2>")
        layout.addWidget(title)
        if hint:
            hint_label = QLabel(hint)
            hint_label.setWordWrap(True)
            hint_label.setObjectName("hintLabel")
            layout.addWidget(hint_label)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        (self.password if username else self.username).setFocus()

    def try_sign_in(self) -> None:
        try:
            self.actor = self.users.authenticate(self.username.text(), self.password.text())
        except ClearanceDeskError as error:
            self.password.clear()
            show_error(self.error, error)
            return
        self.password.clear()
        if self.users.must_change_password(self.actor):
            dialog = ChangePasswordDialog(self.users, self.actor, forced=True, parent=self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                self.actor = None
                return
        self.accept()


class FirstRunDialog(QDialog):
    """No accounts yet: create the first administrator."""

    def __init__(self, users: UserService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users = users
        self.setWindowTitle(f"Set up {APP_NAME}")
        self.username = QLineEdit("admin")
        self.username.setAccessibleName("Administrator user name")
        self.full_name = QLineEdit()
        self.full_name.setAccessibleName("Administrator full name")
        self.password = _password_field("Password")
        self.repeat = _password_field("Repeat password")
        self.error = error_label()
        intro = QLabel("This data folder has no accounts yet. Create the first administrator; "
                       "they will add reviewers and supervisors. Use a passphrase of at least 12 characters.")
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&User name:", self.username)
        form.addRow("&Full name:", self.full_name)
        form.addRow("&Password:", self.password)
        form.addRow("&Repeat password:", self.repeat)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Create administrator")
        buttons.accepted.connect(self.try_create)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def try_create(self) -> None:
        if self.password.text() != self.repeat.text():
            show_error(self.error, InputRejected("the two passwords differ"))
            return
        try:
            self.users.create_first_admin(self.username.text(), self.full_name.text() or self.username.text(),
                                          self.password.text())
        except ClearanceDeskError as error:
            show_error(self.error, error)
            return
        self.accept()


class ChangePasswordDialog(QDialog):
    def __init__(self, users: UserService, actor: Actor, *, forced: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users, self.actor = users, actor
        self.setWindowTitle("Change password")
        self.current = _password_field("Current password")
        self.new = _password_field("New password")
        self.repeat = _password_field("Repeat new password")
        self.error = error_label()
        layout = QVBoxLayout(self)
        if forced:
            note = QLabel("An administrator reset your password. Choose a new one to continue.")
            note.setWordWrap(True)
            layout.addWidget(note)
        form = QFormLayout()
        form.addRow("&Current password:", self.current)
        form.addRow("&New password:", self.new)
        form.addRow("&Repeat:", self.repeat)
        layout.addLayout(form)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.try_change)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def try_change(self) -> None:
        if self.new.text() != self.repeat.text():
            show_error(self.error, InputRejected("the two new passwords differ"))
            return
        try:
            self.users.change_password(self.actor, self.current.text(), self.new.text())
        except ClearanceDeskError as error:
            show_error(self.error, error)
            return
        self.accept()


__all__ = ["ChangePasswordDialog", "FirstRunDialog", "LoginDialog", "error_label", "problem_text", "show_error",
           "show_problems"]
