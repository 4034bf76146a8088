"""Sign-in, first-run and password dialogs.

Passwords are passed straight to the user service and never kept in an attribute
longer than the call. Each dialog is an operation dialog (ui.operations.dialog): argon2
hashes and checks run on a worker, so the dialog keeps painting while they run.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QWidget

from desktop_app import APP_NAME
from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.services.context import Actor
from desktop_app.services.users import UserService
from desktop_app.ui.common.errors import error_label, problem_text, show_error, show_problems
from desktop_app.ui.operations.dialog import OperationDialog


def _password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


class LoginDialog(OperationDialog):
    """Sign in; on success `actor` holds who signed in. The password is checked (argon2) on a worker."""

    def __init__(self, users: UserService, *, hint: str = "", username: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Sign in — {APP_NAME}", ok_text="&Sign in", parent=parent)
        self.users = users
        self.actor: Actor | None = None
        self.setMinimumWidth(400)
        self.username = QLineEdit(username)
        self.username.setAccessibleName("User name")
        self.password = _password_field("Password")
        self.form.addRow("&User name:", self.username)
        self.form.addRow("&Password:", self.password)
        self.fields.update({"user name": self.username, "password": self.password})
        self.content.insertWidget(0, QLabel(f"<h2>{APP_NAME}</h2>"))
        if hint:
            hint_label = QLabel(hint)
            hint_label.setWordWrap(True)
            hint_label.setObjectName("hintLabel")
            self.content.insertWidget(1, hint_label)
        (self.password if username else self.username).setFocus()

    def try_sign_in(self) -> None:
        self.submit()

    def work(self) -> Callable[[], tuple[Actor, bool]]:
        users, username, password = self.users, self.username.text(), self.password.text()
        self.password.clear()  # never kept after an attempt

        def sign_in() -> tuple[Actor, bool]:
            actor = users.authenticate(username, password)
            return actor, users.must_change_password(actor)

        return sign_in

    def completed(self, result: tuple[Actor, bool]) -> bool:
        actor, must_change = result
        if must_change:
            dialog = ChangePasswordDialog(self.users, actor, forced=True, parent=self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
        self.actor = actor
        return True


class FirstRunDialog(OperationDialog):
    """No accounts yet: create the first administrator (the password is hashed on a worker)."""

    def __init__(self, users: UserService, parent: QWidget | None = None) -> None:
        super().__init__(f"Set up {APP_NAME}",
                         "This data folder has no accounts yet. Create the first administrator; "
                         "they will add reviewers and supervisors. Use a passphrase of at least 12 characters.",
                         "&Create administrator", parent)
        self.users = users
        self.username = QLineEdit("admin")
        self.username.setAccessibleName("Administrator user name")
        self.full_name = QLineEdit()
        self.full_name.setAccessibleName("Administrator full name")
        self.password = _password_field("Password")
        self.repeat = _password_field("Repeat password")
        self.form.addRow("&User name:", self.username)
        self.form.addRow("&Full name:", self.full_name)
        self.form.addRow("&Password:", self.password)
        self.form.addRow("&Repeat password:", self.repeat)
        self.fields.update({"user name": self.username, "full name": self.full_name, "password": self.password,
                            "repeat": self.repeat})

    def try_create(self) -> None:
        self.submit()

    def work(self) -> Callable[[], object]:
        if self.password.text() != self.repeat.text():
            raise InputRejected(Problem("the two passwords differ", field="repeat"))
        users, username, password = self.users, self.username.text(), self.password.text()
        full_name = self.full_name.text() or username
        return lambda: users.create_first_admin(username, full_name, password)


class ChangePasswordDialog(OperationDialog):
    """The current password and a new one, checked and hashed (argon2) on a worker."""

    def __init__(self, users: UserService, actor: Actor, *, forced: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__("Change password",
                         "An administrator reset your password. Choose a new one to continue." if forced else "",
                         parent=parent)
        self.setMinimumWidth(400)
        self.users, self.actor = users, actor
        self.current = _password_field("Current password")
        self.new = _password_field("New password")
        self.repeat = _password_field("Repeat new password")
        self.form.addRow("&Current password:", self.current)
        self.form.addRow("&New password:", self.new)
        self.form.addRow("&Repeat:", self.repeat)
        self.fields.update({"current password": self.current, "password": self.new, "new password": self.new,
                            "repeat": self.repeat})

    def try_change(self) -> None:
        self.submit()

    def work(self) -> Callable[[], object]:
        if self.new.text() != self.repeat.text():
            raise InputRejected(Problem("the two new passwords differ", field="repeat"))
        users, actor, current, new = self.users, self.actor, self.current.text(), self.new.text()
        return lambda: users.change_password(actor, current, new)


__all__ = ["ChangePasswordDialog", "FirstRunDialog", "LoginDialog", "error_label", "problem_text", "show_error",
           "show_problems"]
