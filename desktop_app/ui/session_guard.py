"""Signing a user out whose account an administrator deactivated or whose role was changed.

The services refuse every change of such a session already; this makes the window say
so at once and close, instead of offering actions that will be refused one by one. The
account is read again at the user's next click or key press (at most once a second: one
indexed read), and that action is not delivered.

It watches the application's windows (the native windows, which see every click and key
press first) and the focused widget (which sees a shortcut's key first), not the
application: an application-wide filter calls into Python for every event of every
widget, paints and layouts included, which cost ~20 ms of the window's first paint and
a share of every repaint after.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QMessageBox
import shiboken6

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
        self._windows: list[QWindow] = []  # every window once it had focus
        self._focused: QObject | None = None  # the focused widget, while it has the focus
        if window.isVisible():
            self._watch(window.windowHandle())
        else:
            window.installEventFilter(self)  # until it is shown: then its native window exists
        app = QApplication.instance()
        if app is not None:
            app.focusWindowChanged.connect(self._watch)  # type: ignore[attr-defined]
            app.focusObjectChanged.connect(self._watch_focus)  # type: ignore[attr-defined]

    @property
    def _watched(self) -> list[QObject]:
        return [*self._windows, *([self._focused] if self._focused is not None else [])]

    def _watch(self, window: QWindow | None) -> None:
        if window is not None and self.reason is None and window not in self._windows:
            window.installEventFilter(self)
            self._windows.append(window)
            window.destroyed.connect(lambda: self._windows.remove(window) if window in self._windows else None)

    def _watch_focus(self, focused: QObject | None) -> None:
        """The focused widget sees a shortcut's key (ShortcutOverride) before any window does."""
        if self.reason is not None:
            return  # signed out: what was watched stays shut until the window has closed
        previous, self._focused = self._focused, None
        if previous is not None and shiboken6.isValid(previous):  # a dialog's button may be gone with its dialog
            previous.removeEventFilter(self)
        if isinstance(focused, QWindow):
            self._watch(focused)
        elif focused is not None:
            focused.installEventFilter(self)
            self._focused = focused

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if watched is self.window and kind == QEvent.Type.Show:
            self.window.removeEventFilter(self)
            self._watch(self.window.windowHandle())
            return False
        if self.reason is not None:
            return kind in USER_ACTIONS  # signed out: nothing more reaches the closing window
        if kind not in USER_ACTIONS:
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
