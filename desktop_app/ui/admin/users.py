"""Administration of accounts: add, set role, reset password, deactivate (never delete).

Every change runs off the GUI thread (a new or reset password is hashed with argon2) as
an operation; the list refreshes when the change is announced.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from collections.abc import Callable

from desktop_app.domain.types import Role
from desktop_app.services.context import Actor
from desktop_app.services.users import UserService
from desktop_app.ui.operations import ChangeKind, Changes, Operation, follow_changes


class NewUserDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add user")
        self.username = QLineEdit()
        self.username.setAccessibleName("User name")
        self.full_name = QLineEdit()
        self.full_name.setAccessibleName("Full name")
        self.title = QLineEdit()
        self.title.setAccessibleName("Title")
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        for role in Role:
            self.role.addItem(role.value.capitalize(), role)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Temporary password")
        form = QFormLayout(self)
        form.addRow("&User name:", self.username)
        form.addRow("&Full name:", self.full_name)
        form.addRow("&Title:", self.title)
        form.addRow("&Role:", self.role)
        form.addRow("Temporary &password:", self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class UsersDialog(QDialog):
    def __init__(self, users: UserService, admin: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users, self.admin = users, admin
        self.setWindowTitle("Users")
        self.resize(760, 420)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["User name", "Full name", "Role", "Status", "Title"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAccessibleName("Accounts")
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QHBoxLayout()
        for text, slot in (("&Add user…", self.add_user), ("Set &role…", self.set_role),
                           ("Reset &password…", self.reset_password), ("&Deactivate", self.deactivate),
                           ("Re&activate", self.reactivate)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(close)
        self.reload()
        follow_changes(self, self._changes)

    def _changes(self, changes: Changes) -> None:
        if changes.what is ChangeKind.USERS:
            self.reload()

    def reload(self) -> None:
        accounts = self.users.list_users()
        self.table.setRowCount(len(accounts))
        for row, info in enumerate(accounts):
            values = [info.username, info.display_name, info.role.value, "active" if info.active else "deactivated",
                      info.title]
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))

    def _selected(self) -> str | None:
        row = self.table.currentRow()
        if row < 0:
            QMessageBox.information(self, "Users", "Select a user first.")
            return None
        return self.table.item(row, 0).text()

    def _run(self, title: str, change: Callable[[], object], done: str) -> None:
        """One account change as an operation: refused ones are shown, saved ones announced."""
        Operation(self, change, title=title).success(lambda _result: Changes(None, ChangeKind.USERS, done)).run()

    def add_user(self) -> None:
        dialog = NewUserDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        users, admin = self.users, self.admin
        username, full_name = dialog.username.text(), dialog.full_name.text()
        role = Role(dialog.role.currentData())  # the combo box hands the value back as a plain str
        password, title = dialog.password.text(), dialog.title.text()
        self._run("Add user", lambda: users.create_user(admin, username, full_name, role, password, title=title),
                  f"Added {username.strip()}")

    def set_role(self) -> None:
        username = self._selected()
        if not username:
            return
        names = [r.value for r in Role]
        choice, ok = QInputDialog.getItem(self, "Set role", f"Role for {username}:", names, 0, False)
        if ok:
            self._run("Set role", lambda: self.users.set_role(self.admin, username, Role(choice)),
                      f"{username} is now {choice}")

    def reset_password(self) -> None:
        username = self._selected()
        if not username:
            return
        password, ok = QInputDialog.getText(self, "Reset password", f"Temporary password for {username}:",
                                            QLineEdit.EchoMode.Password)
        if ok:
            self._run("Reset password", lambda: self.users.reset_password(self.admin, username, password),
                      f"Password of {username} reset")

    def deactivate(self) -> None:
        username = self._selected()
        if username:
            self._run("Deactivate", lambda: self.users.deactivate(self.admin, username), f"{username} deactivated")

    def reactivate(self) -> None:
        username = self._selected()
        if username:
            self._run("Reactivate", lambda: self.users.reactivate(self.admin, username), f"{username} reactivated")
