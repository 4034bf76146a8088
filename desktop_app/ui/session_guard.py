"""Signing a user out whose account an administrator deactivated or whose role was changed.

The services refuse every change of such a session already; this makes the window say
so at once and close, instead of offering actions that will be refused one by one. The
account is read again at the user's next click or key press (at most once a second: one
indexed read), and that action is not delivered.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QMessageBox

from desktop_app import APP_NAME
from desktop_app.services.context import Actor
from desktop_app.services.users import UserService

log = logging.getLogger("clearance_desk.ui")

USER_ACTIONS = frozenset({QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.KeyPress,
                          QEvent.Type.ShortcutOverride})
CHECK_INTERVAL_S = 1.0


class SessionGuard(QObject):
    """Watches the application's input for `window`'s signed-in `actor`."""

    def __init__(self, window: QMainWindow, users: UserService, actor: Actor) -> None:
        super().__init__(window)
        self.window, self.users, self.actor = window, users, actor
        self.reason: str | None = None
        self.message: QMessageBox | None = None
        self._checked_at = float("-inf")
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if self.reason is not None or event.type() not in USER_ACTIONS:
            return False
        now = time.monotonic()
        if now - self._checked_at < CHECK_INTERVAL_S:
            return False
        self._checked_at = now
        try:
            problem = self.users.session_problem(self.actor)
        except Exception:  # noqa: BLE001 - an unreadable database is reported by the action itself
            log.exception("cannot read the signed-in account")
            return False
        if problem is None:
            return False
        self.sign_out(problem)
        return True  # the action the user started is not carried out

    def sign_out(self, reason: str) -> None:
        """Close the window (no automatic backup for a session that lost its account) and say why."""
        self.reason = reason
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        log.warning("signed %s out: %s", self.actor.username, reason)
        self.message = QMessageBox(QMessageBox.Icon.Warning, f"Signed out — {APP_NAME}",
                                   f"{reason}\n\nUnsaved input in open dialogs was not kept. Ask an administrator "
                                   f"if you think this is a mistake.")
        self.message.setObjectName("signedOutMessage")
        self.message.show()
        self.window.auto_backup_on_close = False  # type: ignore[attr-defined]
        for dialog in self.window.findChildren(QDialog):
            if dialog.isVisible():
                dialog.reject()  # a dialog's own event loop ends as if cancelled
        self.window.close()
