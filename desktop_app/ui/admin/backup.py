"""Backups from the window: Back up now…, Restore… (admins), the backup on exit, the log folder.

Every backup and restore runs off the GUI thread in the operations' progress dialog
(ui.operations.dialog) with Cancel; the worker reports `(message, bytes done, bytes in
all)` by signal and never touches a widget. A restore is verified and staged in the worker; only after that, and after the
admin confirms, does the window close its database connections and put it in place,
then asks to be started again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME
from desktop_app.domain.errors import ClearanceDeskError, OperationCancelled
from desktop_app.services import backup as backups
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.ui.common.errors import problem_text, show_problems
from desktop_app.ui.operations.dialog import ProgressDialog

log = logging.getLogger("clearance_desk.ui")

FILE_FILTER = "Clearance Desk backups (*.zip);;All files (*)"


def _show_error(parent: QWidget | None, title: str, error: Exception) -> None:
    show_problems(parent, title, error)  # type: ignore[arg-type]


# -- Back up now… --------------------------------------------------------------------------


def choose_backup_file(parent: QWidget | None, start_dir: Path) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Back up to", str(start_dir / backups.suggested_name()), FILE_FILTER)
    if not path:
        return None
    target = Path(path)
    return target if target.suffix else target.with_suffix(backups.ARCHIVE_SUFFIX)


def back_up_now(parent: QWidget | None, services: Services, actor: Actor,
                target: Path | None = None) -> backups.BackupResult | None:
    """Admin → Back up now…: choose a file, write the archive with progress; None if cancelled or failed."""
    try:
        backups.require_admin(services.ctx, actor, "back up the data")
    except ClearanceDeskError as error:
        _show_error(parent, "Back up", error)
        return None
    if services.ctx.engine.dialect.name != "sqlite":
        _show_error(parent, "Back up", backups.PostgresNotBackedUp(services.database_label))
        return None
    target = target or choose_backup_file(parent, services.ctx.paths.backups)
    if target is None:
        return None
    ctx = services.ctx
    run = ProgressDialog("Back up now", lambda progress, cancelled: backups.backup_as(
        ctx, actor, target, progress=progress, cancelled=cancelled), parent)
    run.exec()
    if run.failure is not None:
        if not isinstance(run.failure, OperationCancelled):
            _show_error(parent, "Back up", run.failure)
        return None
    result: backups.BackupResult = run.result_value
    text = result.summary()
    if result.warnings:
        text += "\n\nWarnings:\n" + "\n".join(f"• {w}" for w in result.warnings)
    box = QMessageBox(QMessageBox.Icon.Warning if result.warnings else QMessageBox.Icon.Information, "Back up",
                      text, QMessageBox.StandardButton.Ok, parent)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()
    return result


# -- Automatic backup on exit ---------------------------------------------------------------


def automatic_backup_on_close(parent: QWidget | None, services: Services) -> backups.BackupResult | None:
    """At most once a day, into <data>/backups, keeping the newest `backup_keep`; never blocks quitting."""
    ctx = services.ctx
    if ctx.engine.dialect.name != "sqlite" or not backups.automatic_backup_due(ctx.paths.backups, ctx.now()):
        return None
    try:
        keep = int(services.settings.get("backup_keep"))
    except Exception:  # noqa: BLE001 - a backup on exit must never stop the window from closing
        log.exception("cannot read backup_keep; keeping the default")
        keep = 7
    run = ProgressDialog("Automatic backup", lambda progress, cancelled: backups.automatic_backup(
        ctx, keep=keep, progress=progress, cancelled=cancelled), parent)
    run.stage.setText("Making today's automatic backup before closing…")
    run.exec()
    if run.failure is not None:
        if not isinstance(run.failure, OperationCancelled):
            log.error("automatic backup failed: %s", run.failure)
            QMessageBox.warning(parent, "Automatic backup", f"Today's automatic backup failed: {run.failure}")
        return None
    return run.result_value  # type: ignore[no-any-return]


# -- Restore… (admins) -----------------------------------------------------------------------


def confirm_restore(parent: QWidget | None, info: backups.ArchiveInfo, data_dir: Path) -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, "Restore a backup",
                      f"Replace everything in {data_dir} with this backup?\n\n{info.summary()}\n\n"
                      f"The backup is checked completely first. The current database is kept in "
                      f"{data_dir / 'backups'}. {APP_NAME} closes when the restore is done; start it again to "
                      f"sign in to the restored data.", parent=parent)
    restore_button = box.addButton("Restore", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is restore_button


def reason_to_go_back(parent: QWidget | None, refusal: ClearanceDeskError) -> str:
    """The backup is older than the data: restore it anyway only with a reason, which the audit trail keeps."""
    text, accepted = QInputDialog.getText(
        parent, "Restore an older backup",
        f"{problem_text(refusal)}\n\nTo restore it anyway, say why (recorded in the audit trail):")
    return text.strip() if accepted else ""


def restore_backup(parent: QWidget | None, services: Services, actor: Actor,
                   source: Path | None = None) -> backups.RestoreResult | None:
    """Admin → Restore…: verify and stage off the GUI thread, then close the database and swap it in.

    Returns the result when the data was replaced: the caller must then quit, because
    every open view shows the data that was replaced.
    """
    from desktop_app.domain.types import Role

    if actor.role is not Role.ADMIN:
        QMessageBox.information(parent, "Restore", "Only an administrator may restore a backup.")
        return None
    try:
        backups.require_admin(services.ctx, actor, "restore a backup")  # as the database says now
    except ClearanceDeskError as error:
        _show_error(parent, "Restore", error)
        return None
    if services.ctx.engine.dialect.name != "sqlite":
        _show_error(parent, "Restore", backups.PostgresNotBackedUp(services.database_label))
        return None
    if source is None:
        path, _ = QFileDialog.getOpenFileName(parent, "Restore from", str(services.ctx.paths.backups), FILE_FILTER)
        if not path:
            return None
        source = Path(path)
    try:
        info = backups.inspect_archive(source)
    except ClearanceDeskError as error:
        _show_error(parent, "Restore", error)
        return None
    if not confirm_restore(parent, info, services.data_dir):
        return None
    data_dir = services.data_dir

    def staged(force: bool, reason: str) -> ProgressDialog:
        run = ProgressDialog("Restore", lambda progress, cancelled: backups.prepare_restore(
            source, data_dir, actor=actor.username, progress=progress, cancelled=cancelled, force=force,
            reason=reason), parent)
        run.exec()
        return run

    run = staged(False, "")
    if isinstance(run.failure, backups.RestoreGoesBack):
        reason = reason_to_go_back(parent, run.failure)
        if not reason:
            return None
        run = staged(True, reason)
    if run.failure is not None:
        if not isinstance(run.failure, OperationCancelled):
            _show_error(parent, "Restore refused: nothing was changed", run.failure)
        return None
    prepared: backups.PreparedRestore = run.result_value
    services.close()  # every pooled connection, so the swap is not refused as "in use"
    try:
        result = prepared.commit()
    except ClearanceDeskError as error:
        prepared.discard()
        _show_error(parent, "Restore not done: nothing was changed", error)
        return None
    except Exception as error:  # noqa: BLE001 - reported, and the staged copy is removed
        prepared.discard()
        log.exception("restore failed while putting the backup in place")
        _show_error(parent, "Restore", error)
        return None
    QMessageBox.information(parent, "Restore", f"{result.summary()}\n\n{APP_NAME} will now close. "
                                               f"Start it again to sign in to the restored data.")
    return result


# -- Help → Show log folder -------------------------------------------------------------------


class LogFolderDialog(QDialog):
    """Shows where the log files are, with a Copy button; nothing is handed to another program."""

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log folder")
        self.setMinimumWidth(560)
        self.path = QLineEdit(str(folder))
        self.path.setReadOnly(True)
        self.path.setAccessibleName("Log folder path")
        self.copy_button = QPushButton("&Copy")
        self.copy_button.clicked.connect(self.copy)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.copy_button)
        files = sorted(p.name for p in folder.glob("*.log*")) if folder.is_dir() else []
        listing = QLabel("Files: " + (", ".join(files) if files else "none yet"))
        listing.setWordWrap(True)
        note = QLabel("The log names files by path and digest only; it never holds passwords, passphrases, "
                      "PINs or package content. Attach it to a support request as it is.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Clearance Desk writes its log files to:"))
        layout.addLayout(row)
        layout.addWidget(listing)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.path.text())
        self.copy_button.setText("Copied")
