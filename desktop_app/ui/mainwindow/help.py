"""The Help menu: the user guide, the keyboard shortcuts, and About.

The guide is `docs/user-guide.md` (with its screenshots), shown as Markdown in a text
browser; the shortcuts list is generated from the window's own menus, so it can never
disagree with them, plus the keys that are not menu entries.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QImage, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME, __version__
from desktop_app.infra.resources import resource_root

GUIDE_NAME = "user-guide.md"
#: Keys that work without a menu entry: (where, key, what it does).
OTHER_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Queue", "Enter", "Open the current submission and move to its detail"),
    ("Queue", "Up, Down, Page Up, Page Down", "Move through the queue"),
    ("Queue", "Shift+click, Ctrl+click", "Select several submissions (for Assign selected)"),
    ("Search box", "Down, Enter", "Back to the queue, keeping the search"),
    ("Search box", "Escape", "Clear the search; again to go back to the queue"),
    ("Dashboard", "Tab", "Move between the period, the tiles and the charts"),
    ("Dashboard", "Arrow keys, then Enter", "Choose a bar in a chart, then show it in the queue"),
    ("Dashboard", "F5 / Escape", "Recount / close the dashboard"),
    ("Dialogs", "Alt+underlined letter", "Move to that field or press that button"),
)


def guide_path() -> Path | None:
    """docs/user-guide.md beside the resources (a source checkout, or a bundle that ships docs/)."""
    root = resource_root()
    for candidate in (root.parent / "docs" / GUIDE_NAME, root / "docs" / GUIDE_NAME):
        if candidate.is_file():
            return candidate
    return None


class UserGuide(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(f"{APP_NAME} user guide")
        self.resize(900, 760)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName("User guide")
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link)
        self._folder: Path | None = None
        path = guide_path()
        if path is None:
            self.browser.setMarkdown(f"# {APP_NAME}\n\nThe user guide (docs/{GUIDE_NAME}) is not installed with "
                                     "this copy. Help → Keyboard shortcuts lists every command.")
        else:
            self.browser.setSearchPaths([str(path.parent)])
            self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(path.parent) + "/"))
            self.browser.setMarkdown(path.read_text(encoding="utf-8"))
            self._folder = path.parent
            self._fit_images()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.browser.setFocus()

    def _fit_images(self) -> None:
        """Screenshots are 1,600 pixels wide: show them at most as wide as the page."""
        width = max(320, self.browser.viewport().width() - 40)
        document = self.browser.document()
        block = document.begin()
        while block.isValid():
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                if fragment.isValid() and fragment.charFormat().isImageFormat():
                    image_format = fragment.charFormat().toImageFormat()
                    size = QImage(str(self._folder / image_format.name())).size()
                    if size.width() > 0:
                        shown = min(width, size.width())
                        image_format.setWidth(shown)
                        image_format.setHeight(size.height() * shown / size.width())
                        cursor = QTextCursor(document)
                        cursor.setPosition(fragment.position())
                        cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
                        cursor.setCharFormat(image_format)
                iterator += 1
            block = block.next()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        if getattr(self, "_folder", None) is not None:
            self._fit_images()

    def _link(self, url: QUrl) -> None:
        if url.scheme() in ("", "file") and url.fragment() and not url.path():
            self.browser.scrollToAnchor(url.fragment())
        elif url.isLocalFile() or url.scheme() == "":
            QDesktopServices.openUrl(url)  # a screenshot at full size; nothing leaves the machine


def menu_actions(menu_bar: QMenuBar) -> list[tuple[str, QAction]]:
    """Every action of every menu (submenus included), with its menu path, in menu order."""
    found: list[tuple[str, QAction]] = []

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.isSeparator():
                continue
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, f"{path} → {plain(action.text())}")
            else:
                found.append((path, action))

    for top in menu_bar.actions():
        if isinstance(top.menu(), QMenu):
            walk(top.menu(), plain(top.text()))
    return found


def plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def shortcut_rows(menu_bar: QMenuBar) -> list[tuple[str, str, str]]:
    rows = []
    for path, action in menu_actions(menu_bar):
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        mnemonic = ""
        text = action.text().replace("&&", "")
        if "&" in text:
            mnemonic = f"{text[text.index('&') + 1].upper()} in the {path.split(' → ')[-1]} menu"
        rows.append((path, plain(action.text()), keys or f"(no shortcut; {mnemonic})"))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(760, 640)
        rows = shortcut_rows(menu_bar) + [(where, what, key) for where, key, what in OTHER_KEYS]
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "Command", "Keys"])
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for r, values in enumerate(rows):
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        note = QLabel("Every menu can also be opened with Alt and its underlined letter, and every entry chosen "
                      "with its underlined letter.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)


def about_html(data_dir: Path, database: str, logs: Path | None = None) -> str:
    rows = [("Version", __version__), ("Data folder", str(data_dir)), ("Database", database)]
    if logs is not None:
        rows.append(("Log folder", str(logs)))
    rows += [("Python", platform.python_version()), ("Qt for Python", pyside_version),
             ("Platform", f"{platform.system()} {platform.release()}")]
    from html import escape

    table = "".join(f"<tr><td><b>{escape(k)}</b>&nbsp;&nbsp;</td><td>{escape(v)}</td></tr>" for k, v in rows)
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    return (f"<h3>{APP_NAME} {escape(__version__)}{frozen}</h3>"
            "<p>Pre-release security review of frontier AI models: the queue, findings, sign-off and "
            "signed clearance letters, entirely on this workstation.</p>"
            f"<table>{table}</table>")
