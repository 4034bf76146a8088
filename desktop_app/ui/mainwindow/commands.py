"""Commands that open a dialog or a file: intake, artifacts and evidence, accounts, settings, help, backups.

A mixin of `MainWindow` (ui.mainwindow.window): it uses the window's attributes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QMessageBox,
)

from desktop_app import APP_NAME, __version__
from desktop_app.domain.types import Role
from desktop_app.ui.operations import ChangeKind, Changes, Operation, bus

if TYPE_CHECKING:
    pass


log = logging.getLogger("clearance_desk.ui")


class CommandsMixin:
    """Commands that open a dialog or a file: intake, artifacts and evidence, accounts, settings, help, backups."""

    def choose_package(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Import package", "", "Submission packages (*.zip);;All files (*)")
        if path:
            self.import_package(Path(path))

    def choose_package_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Import package folder")
        if folder:
            self.import_package(Path(folder))

    def import_package(self, path: Path) -> None:
        from desktop_app.ui.intake.import_dialog import import_with_dialogs

        if self.actor.role is Role.ADMIN:
            QMessageBox.information(self, "Import package", "Administrators do not import submissions.")
            return
        result = import_with_dialogs(self, self.services.intake, self.actor, Path(path))
        if result is not None:  # the window shows the new submission when it hears of it
            bus().announce(Changes(result.submission_id, ChangeKind.INTAKE,
                                   f"Imported {Path(path).name} as {result.reference}"))

    def register_by_hand(self) -> None:
        from desktop_app.ui.intake.register_dialog import RegisterDialog

        dialog = RegisterDialog(self.services.intake, self.actor, self)
        if dialog.exec() and dialog.result_value is not None:
            registered = dialog.result_value
            bus().announce(Changes(registered.submission_id, ChangeKind.INTAKE,
                                   f"Registered {registered.reference} by hand"))

    def view_artifact(self, artifact_id: int) -> None:
        from desktop_app.ui.review.artifact_viewer import view_artifact
        from desktop_app.ui.review.eval_view import open_log_artifact

        if open_log_artifact(self, self.services, self.detail.detail, artifact_id) is None:
            view_artifact(self, self.services.artifacts, artifact_id)

    def open_evidence(self, evidence_id: int) -> None:
        """A cited evaluation sample, or an attached evaluation log, read-only (ui.review.eval_view)."""
        from desktop_app.ui.review.eval_view import open_evidence

        open_evidence(self, self.services, self.detail.detail, evidence_id)

    def open_changes(self, submission_id: int) -> None:
        """Changes since the previous submission (ui.review.diff_view); a carried-over finding is announced on the bus."""
        from desktop_app.ui.review.diff_view import DiffDialog

        shown = self.detail.detail
        reference = shown.reference if shown is not None and shown.id == submission_id else ""
        dialog = DiffDialog(self.services, self.actor, submission_id, reference, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.changes_dialog = dialog

    def save_artifact(self, artifact_id: int) -> None:
        from desktop_app.ui.review.artifact_viewer import save_artifact_copy

        save_artifact_copy(self, self.services.artifacts, artifact_id,
                           lambda target: self.statusBar().showMessage(f"Saved a copy as {target}", 8000))

    def attach_files(self, submission_id: int) -> None:
        from PySide6.QtWidgets import QFileDialog


        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files to the submission")
        if not paths:
            return
        intake, actor, files = self.services.intake, self.actor, [(Path(p), "other") for p in paths]
        # hashing whole files: on a worker (ui.operations), the detail refreshes from the bus
        Operation(self, lambda: intake.attach_files(actor, submission_id, files), title="Attach files").success(
            lambda _result: Changes(submission_id, ChangeKind.EVIDENCE, f"Attached {len(files)} file(s) by hand")).run()

    def open_users(self) -> None:
        from desktop_app.ui.admin.users import UsersDialog

        UsersDialog(self.services.users, self.actor, self).exec()

    def change_password(self) -> None:
        from desktop_app.ui.account.dialogs import ChangePasswordDialog

        if ChangePasswordDialog(self.services.users, self.actor, parent=self).exec():
            self.statusBar().showMessage("Password changed", 5000)

    def about(self) -> None:
        from desktop_app.ui.mainwindow.help import about_html

        QMessageBox.about(self, f"About {APP_NAME} {__version__}",
                          about_html(self.services.data_dir, self.services.database_label, self.services.ctx.paths.logs))

    def open_settings(self) -> None:
        from desktop_app.ui.admin.settings import SettingsDialog

        SettingsDialog(self.services, self.actor, self).exec()

    def show_user_guide(self) -> None:
        from desktop_app.ui.mainwindow.help import UserGuide

        guide = UserGuide(self)
        guide.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        guide.show()

    def show_shortcuts(self) -> None:
        from desktop_app.ui.mainwindow.help import ShortcutsDialog

        ShortcutsDialog(self.menuBar(), self).exec()

    def back_up_now(self) -> None:
        from desktop_app.ui.admin.backup import back_up_now

        result = back_up_now(self, self.services, self.actor)
        if result is not None:
            self.statusBar().showMessage(f"Backed up to {result.path}", 8000)

    def restore_backup(self) -> None:
        from desktop_app.ui.admin.backup import restore_backup

        if restore_backup(self, self.services, self.actor) is not None:
            self.auto_backup_on_close = False  # the data it would back up was just replaced
            self.close()

    def show_log_folder(self) -> None:
        from desktop_app.ui.admin.backup import LogFolderDialog

        LogFolderDialog(self.services.ctx.paths.logs, self).exec()
