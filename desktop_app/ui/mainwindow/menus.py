"""The main window's menus and their shortcuts.

A mixin of `MainWindow` (ui.mainwindow.window): it uses the window's attributes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QMenu,
)

from desktop_app.domain.types import Role

if TYPE_CHECKING:
    pass


log = logging.getLogger("clearance_desk.ui")


class MenusMixin:
    """The main window's menus and their shortcuts."""

    def _action(self, text: str, slot: object, shortcut: QKeySequence | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text.replace("&", "").rstrip("…"))
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.file_menu = file_menu
        if self.actor.role is not Role.ADMIN:
            file_menu.addAction(self._action("&Import package…", self.choose_package, "Ctrl+I",
                                             "Import a submission package (folder or .zip)"))
            file_menu.addAction(self._action("Import package &folder…", self.choose_package_folder, "Ctrl+Shift+I",
                                             "Import a submission package delivered as a folder"))
            file_menu.addAction(self._action("&Register submission by hand…", self.register_by_hand,
                                             "Ctrl+Shift+N"))
        file_menu.addAction(self._action("&Verify a letter…", self._needs_review(lambda: self.letter_actions.verify_file()),
                                         "Ctrl+Shift+V",
                                         "Check a signed letter: signature, trust anchor and the letter register"))
        file_menu.addAction(self._action("Verify a &printed letter…", self._needs_review(
            lambda: self.letter_actions.verify_printed()), None,
            "Read a scanned or photographed letter's QR code: its signature, then the letter register"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self._action("&Refresh", self.reload, QKeySequence.StandardKey.Refresh))
        view_menu.addAction(self._action("&Find…", self.focus_search, QKeySequence.StandardKey.Find))
        view_menu.addAction(self._action("Go to &queue", lambda: self.queue.setFocus(), "Ctrl+1"))
        view_menu.addAction(self._action("Go to &detail", self._needs_review(lambda: self.detail.setFocus()), "Ctrl+2"))
        view_menu.addSeparator()
        view_menu.addAction(self._action("Dash&board", self._needs_review(lambda: self.report_actions.open_dashboard()), "Ctrl+D",
                                         "Charts and figures: queue health, decisions, findings, workload"))
        self._add_palette_menu(view_menu)
        queue_menu = bar.addMenu("&Queue")
        queue_menu.addAction(self._action("&Open submission", lambda: self.open_row(self.queue.currentIndex().row()),
                                          None, "Show the current submission and move to its detail"))
        queue_menu.addAction(self._action("Select &all", self.queue.selectAll, QKeySequence.StandardKey.SelectAll))
        if self.actor.role is not Role.ADMIN:
            queue_menu.addAction(self._action("A&ssign selected to…", self.assign_selected, "Ctrl+Shift+A",
                                              "Give the selected submissions to a reviewer"))
        queue_menu.addSeparator()
        queue_menu.addAction(self._action("&Save current filter…", self.save_current_filter, None,
                                          "Save this view, refinements and search under a name"))
        queue_menu.addAction(self._action("&Clear filters", self.clear_filters, None,
                                          "Show all submissions: no view, refinements or search"))
        reports_menu = bar.addMenu("&Reports")
        reports_menu.addAction(self._action("&Periodic report…", self._needs_review(lambda: self.report_actions.periodic_report()),
                                            "Ctrl+Shift+P",
                                            "A PDF (and CSV) of the figures for a date range, for leadership"))
        reports_menu.addAction(self._action("&Export queue as CSV…",
                                            self._needs_review(lambda: self.report_actions.export_queue_csv()),
                                            "Ctrl+Shift+E", "Every row of the queue as shown now, in its order"))
        reports_menu.addAction(self._action("&Letter register…", self._needs_review(
            lambda: self.letter_actions.open_register()), None,
            "Every letter with its status (valid, revoked, superseded); filters, search and CSV export"))
        reports_menu.addAction(self._action("Review &record…", self._needs_review(lambda: self.report_actions.review_record()),
                                            "Ctrl+Shift+R",
                                            "The selected submission's whole record as PDF, for auditors"))
        if self.actor.role is Role.ADMIN:
            admin_menu = bar.addMenu("&Admin")
            admin_menu.addAction(self._action("&Users…", self.open_users, "Ctrl+Shift+U"))
            admin_menu.addAction(self._action("&Settings…", self.open_settings, "Ctrl+,",
                                              "Every agency setting: letterhead, marking, review window, lock-out…"))
            admin_menu.addAction(self._action("&Trust anchors and certificates…",
                                              self._needs_review(lambda: self.letter_actions.trust_admin()),
                                              None, "Agency root certificates, CRLs and supervisors' certificates"))
            admin_menu.addSeparator()
            admin_menu.addAction(self._action("&Back up now…", self.back_up_now, None,
                                              "Write a backup archive of the database and the files it refers to"))
            admin_menu.addAction(self._action("&Restore…", self.restore_backup, None,
                                              "Replace the data with a verified backup"))
        account_menu = bar.addMenu("A&ccount")
        account_menu.addAction(self._action("Change &password…", self.change_password))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&User guide", self.show_user_guide, "F1"))
        help_menu.addAction(self._action("&Keyboard shortcuts", self.show_shortcuts, "Ctrl+/",
                                         "Every command and its keys"))
        help_menu.addAction(self._action("&About Clearance Desk", self.about, "Shift+F1"))
        help_menu.addAction(self._action("Show &log folder", self.show_log_folder, None,
                                         "Where the log files are, to attach to a support request"))

    def _add_review_actions_menu(self) -> None:
        """The Review menu: every workflow action and the finding actions, each with its shortcut."""
        if self.actor.role is Role.ADMIN:
            return
        from desktop_app.ui.review.workflow import review_menu

        page = self.detail.findings_page
        self.review_menu = review_menu(self, self.detail.action_panel,
                                       lambda text: self.statusBar().showMessage(text, 8000),
                                       [("new_finding", "&New finding…", lambda: page.trigger("new")),
                                        ("edit_finding", "&Edit the selected finding…", lambda: page.trigger("edit"))])
        bar = self.menuBar()
        before = next((a for a in bar.actions() if a.text() == "&Queue"), None)
        if before is not None:
            bar.insertMenu(before, self.review_menu)
        else:
            bar.addMenu(self.review_menu)

    def _add_review_menus(self) -> None:
        """Edit (undo and redo of finding edits) after File; My work in View."""
        bar = self.menuBar()
        view_action = next((a for a in bar.actions() if a.text() == "&View"), None)
        edit_menu = QMenu("&Edit", self)
        if view_action is not None:
            bar.insertMenu(view_action, edit_menu)
        else:
            bar.addMenu(edit_menu)
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        if view_action is not None and view_action.menu() is not None and self.actor.role is not Role.ADMIN:
            view_action.menu().addSeparator()
            view_action.menu().addAction(self._action("My &work…", self._needs_review(self.open_my_work), "Ctrl+Shift+M",
                                                      "What is assigned to you, awaits your sign-off, or is due soon"))
            view_action.menu().addAction(self._action("&Conditions…", self._needs_review(self.open_conditions),
                                                      "Ctrl+Shift+K", "Conditions of issued letters: owners, due "
                                                                      "dates, evidence, follow-up"))

    def _add_palette_menu(self, view_menu: QMenu) -> None:
        from PySide6.QtGui import QActionGroup

        from desktop_app.ui.common import theme

        menu = view_menu.addMenu("&Palette")
        group = QActionGroup(menu)
        self.palette_actions: dict[theme.PaletteChoice, QAction] = {}
        for choice in theme.PaletteChoice:
            action = self._action(choice.title, lambda _checked=False, c=choice: theme.apply(c), None,
                                  f"Use the {choice.value} palette (kept for next time)")
            action.setCheckable(True)
            action.setChecked(choice is theme.current_choice())
            group.addAction(action)
            menu.addAction(action)
            self.palette_actions[choice] = action
