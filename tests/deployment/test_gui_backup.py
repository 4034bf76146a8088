"""The window's backups: File → Back up now…, Admin → Restore…, the backup on exit, progress and Cancel."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from desktop_app.domain.errors import OperationCancelled
from desktop_app.services import backup as backups
from desktop_app.services.bundle import Services
from desktop_app.ui.admin import backup as backup_dialogs
from desktop_app.ui.mainwindow.window import MainWindow
from desktop_app.ui.operations.dialog import ProgressDialog


def _menu_actions(window: MainWindow, menu: str) -> dict[str, object]:
    for action in window.menuBar().actions():
        if action.text() == menu:
            return {a.text(): a for a in action.menu().actions() if a.text()}
    return {}


@pytest.fixture
def quiet_boxes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Message boxes answer at once; their texts are collected."""
    texts: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: texts.append(self.text()) or 0)
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: texts.append(str(a[2])) or 0)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: texts.append(str(a[2])) or 0)
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: texts.append(str(a[2])) or 0)
    return texts


def test_back_up_now_writes_the_archive_with_progress(qtbot, ctx, people, tmp_path: Path,  # noqa: ANN001
                                                      monkeypatch: pytest.MonkeyPatch, quiet_boxes: list[str]) -> None:
    target = tmp_path / "from-the-window.zip"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    runs: list[ProgressDialog] = []
    real_exec = ProgressDialog.exec
    monkeypatch.setattr(ProgressDialog, "exec", lambda self: runs.append(self) or real_exec(self))
    reviewer_window = MainWindow(Services.from_context(ctx), people["rev"])
    qtbot.addWidget(reviewer_window)
    assert "&Back up now…" not in _menu_actions(reviewer_window, "&File")  # administrators back up
    assert backup_dialogs.back_up_now(reviewer_window, Services.from_context(ctx), people["rev"], target) is None
    assert not target.exists() and any("Only an administrator may back up" in text for text in quiet_boxes)
    window = MainWindow(Services.from_context(ctx), people["admin"])
    qtbot.addWidget(window)
    _menu_actions(window, "&Admin")["&Back up now…"].trigger()
    assert target.is_file()
    assert backups.inspect_archive(target).audit_events > 0
    assert runs and runs[0].result_value.path == target and runs[0].bar.value() == 1000
    assert any("backup written" in text for text in quiet_boxes)


def test_restore_is_for_admins_and_replaces_the_data_then_closes(qtbot, ctx, people, tmp_path: Path,  # noqa: ANN001
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                quiet_boxes: list[str]) -> None:
    archive = backups.backup(ctx, tmp_path / "before.zip").path
    from desktop_app.services.users import UserService

    UserService(ctx).create_user(people["admin"], "later", "Made After The Backup",
                                 people["rev"].role, "a sturdy distinct passphrase 8", must_change_password=False)
    reviewer_window = MainWindow(Services.from_context(ctx), people["rev"])
    qtbot.addWidget(reviewer_window)
    assert "&Restore…" not in _menu_actions(reviewer_window, "&Admin")
    reviewer_window.close()

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(archive), ""))
    monkeypatch.setattr(backup_dialogs, "confirm_restore", lambda *a: True)
    asked: list[str] = []  # the account made after the backup makes it older: a reason is asked for

    def give_reason(_parent: object, _title: str, label: str, *rest: object) -> tuple[str, bool]:
        asked.append(label)
        return "the account was made by mistake", True

    monkeypatch.setattr(QInputDialog, "getText", give_reason)
    window = MainWindow(Services.from_context(ctx), people["admin"])
    qtbot.addWidget(window)
    window.show()
    _menu_actions(window, "&Admin")["&Restore…"].trigger()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert any("will now close" in text for text in quiet_boxes), quiet_boxes
    assert len(asked) == 1 and "older than this data folder" in asked[0]
    conn = sqlite3.connect(ctx.paths.database)
    assert conn.execute("SELECT count(*) FROM users WHERE username = 'later'").fetchone() == (0,)
    last = conn.execute("SELECT action, actor, after FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    assert last[:2] == ("data.restore", "admin")
    assert json.loads(last[2])["forced"]["reason"] == "the account was made by mistake"
    conn.close()
    kept = list(ctx.paths.backups.glob("clearance-desk-pre-restore-*.sqlite3"))
    assert len(kept) == 1
    assert sqlite3.connect(kept[0]).execute("SELECT count(*) FROM users WHERE username = 'later'").fetchone() == (1,)


def test_refused_restore_changes_nothing_and_says_why(qtbot, ctx, people, tmp_path: Path,  # noqa: ANN001
                                                      monkeypatch: pytest.MonkeyPatch, quiet_boxes: list[str]) -> None:
    archive = backups.backup(ctx, tmp_path / "b.zip").path
    archive.write_bytes(archive.read_bytes()[:-200])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(archive), ""))
    shown: list[str] = []
    monkeypatch.setattr(backup_dialogs, "_show_error", lambda parent, title, error: shown.append(f"{title}: {error}"))
    before = ctx.paths.database.read_bytes()
    window = MainWindow(Services.from_context(ctx), people["admin"])
    qtbot.addWidget(window)
    _menu_actions(window, "&Admin")["&Restore…"].trigger()
    assert shown and "not a complete zip archive" in shown[0]
    assert ctx.paths.database.read_bytes() == before
    assert not list(ctx.paths.root.glob(".restore-*"))


def test_automatic_backup_when_the_window_closes_once_a_day(qtbot, ctx, people, clock, quiet_boxes: list[str]) -> None:  # noqa: ANN001
    services = Services.from_context(ctx)
    for hours in (0, 3):
        clock.advance(hours=hours)
        window = MainWindow(services, people["rev"])
        qtbot.addWidget(window)
        window.auto_backup_on_close = True
        window.show()
        window.close()
    autos = backups.automatic_backups(ctx.paths.backups)
    assert len(autos) == 1, autos
    assert backups.inspect_archive(autos[0]).audit_events > 0
    clock.advance(days=1)
    window = MainWindow(services, people["rev"])
    qtbot.addWidget(window)
    window.auto_backup_on_close = True
    window.close()
    assert len(backups.automatic_backups(ctx.paths.backups)) == 2


def test_cancel_stops_the_worker_and_reports_cancelled(qtbot) -> None:  # noqa: ANN001
    def work(progress, cancelled):  # noqa: ANN001, ANN202
        for step in range(2000):
            progress("Working…", step, 2000)
            if cancelled():
                raise OperationCancelled("cancelled by the user; nothing was changed")
            time.sleep(0.005)
        return "finished"

    run = ProgressDialog("Test", work)
    qtbot.addWidget(run)
    QTimer.singleShot(100, run.reject)  # Cancel, or Escape
    run.exec()
    assert isinstance(run.failure, OperationCancelled) and run.result_value is None
