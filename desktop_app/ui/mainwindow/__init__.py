"""The main window: it composes the features and owns menus, layout and the change bus's listener."""

from desktop_app.ui.mainwindow.window import MainWindow

__all__ = ["MainWindow"]
