"""Import from the command line and from the window: progress, result, refusal view."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from desktop_app.services.bundle import Services
from desktop_app.ui.intake.import_dialog import ImportDialog, RefusalDialog
from desktop_app.ui.mainwindow.window import MainWindow

from conftest import PASSWORD


def cli(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CLEARANCE_DESK_PASSWORD=password, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def broken_copy(samples_dir: Path, tmp_path: Path) -> Path:
    package = tmp_path / "broken"
    shutil.copytree(samples_dir / "northwind-orca-3.1", package)
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["artifacts"][0]["sha256"] = "0" * 64
    manifest["artifacts"][1]["bytes"] = 1
    manifest["model"]["intended_release"] = "2026-02-30"
    (package / "manifest.json").write_text(json.dumps(manifest))
    return package


def test_cli_import_prints_the_reference(ctx, people, samples_dir) -> None:  # noqa: ANN001
    ctx.close()
    out = cli("--data-dir", str(ctx.paths.root), "import", str(samples_dir / "northwind-orca-3.1"), "--as", "rev")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "CD-2026-0001"


def test_cli_refusal_is_one_line_per_problem_and_exit_1(ctx, people, samples_dir, tmp_path) -> None:  # noqa: ANN001
    ctx.close()
    out = cli("--data-dir", str(ctx.paths.root), "import", str(broken_copy(samples_dir, tmp_path)), "--as", "rev")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr
    assert any("intended_release" in line for line in lines)
    assert all(line.startswith("error: ") and "broken" in line for line in lines)


def test_cli_wrong_password_exits_1(ctx, people, samples_dir) -> None:  # noqa: ANN001
    ctx.close()
    out = cli("--data-dir", str(ctx.paths.root), "import", str(samples_dir / "northwind-orca-3.1"), "--as", "rev",
              password="not my password")
    assert out.returncode == 1 and "wrong user name or password" in out.stderr


@pytest.fixture
def window(qtbot, ctx, people):  # noqa: ANN001, ANN201
    services = Services.from_context(ctx)
    win = MainWindow(services, people["rev"])
    qtbot.addWidget(win)
    with qtbot.waitExposed(win):
        win.show()
    return win


def test_import_dialog_reports_progress_and_opens_the_result(qtbot, window, samples_dir) -> None:  # noqa: ANN001
    dialog = ImportDialog(window.services.intake, window.actor, samples_dir / "northwind-orca-3.1", window)
    qtbot.addWidget(dialog)
    updates = []
    original = dialog.show_progress
    dialog.show_progress = lambda u: (updates.append(u), original(u))  # type: ignore[method-assign]
    with qtbot.waitSignal(dialog.imported, timeout=10_000) as blocker:
        dialog.start()
    assert blocker.args[0].reference == "CD-2026-0001"
    assert dialog.result_value is not None


def test_import_dialog_progress_text(qtbot, window) -> None:  # noqa: ANN001
    from desktop_app.services.packages import ImportProgress

    dialog = ImportDialog(window.services.intake, window.actor, Path("pkg"), window)
    qtbot.addWidget(dialog)
    dialog._started -= 2.0
    dialog.show_progress(ImportProgress(512 * 1024 * 1024, 1024 * 1024 * 1024, 1, 3, "weights/shard-1.bin"))
    assert dialog.bar.value() == 500
    assert "512.0 MiB of 1.0 GiB" in dialog.counts.text() and "file 2 of 3" in dialog.counts.text()
    assert "weights/shard-1.bin" in dialog.current.text()
    assert "/s" in dialog.rate.text() and "left" in dialog.rate.text()


def test_refused_package_shows_every_problem(qtbot, window, samples_dir, tmp_path) -> None:  # noqa: ANN001
    path = broken_copy(samples_dir, tmp_path)
    dialog = ImportDialog(window.services.intake, window.actor, path, window)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.failure is not None, timeout=10_000)
    refusal = RefusalDialog(path, dialog.failure, window)
    qtbot.addWidget(refusal)
    texts = [refusal.problems.item(i).text() for i in range(refusal.problems.count())]
    assert any("intended_release" in t for t in texts)
    assert len(window.services.queue.ordered_ids()) == 0


def test_dropping_a_package_on_the_queue_imports_it(qtbot, window, samples_dir, monkeypatch) -> None:  # noqa: ANN001
    dropped = []
    monkeypatch.setattr(window, "import_package", dropped.append)
    window.queue.package_dropped.disconnect()
    window.queue.package_dropped.connect(window.import_package)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(samples_dir / "helix-sparrow-2.0.zip"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.queue.dropEvent(event)
    assert dropped == [samples_dir / "helix-sparrow-2.0.zip"]
    mime.setUrls([QUrl.fromLocalFile(str(samples_dir / "helix-sparrow-2.0.zip")),
                  QUrl.fromLocalFile(str(samples_dir))])
    window.queue.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                      Qt.KeyboardModifier.NoModifier))
    assert len(dropped) == 1  # two things at once are not a package


def test_artifacts_tab_offers_view_and_save(qtbot, window, samples_dir) -> None:  # noqa: ANN001
    result = window.services.intake.import_package(window.actor, samples_dir / "northwind-orca-3.1")
    window.select_submission(result.submission_id)
    table = window.detail.artifacts
    paths = [table.item(r, 0).text() for r in range(table.rowCount())]
    table.selectRow(paths.index("model-card.md"))
    from desktop_app.ui.review.artifact_viewer import view_artifact

    viewer = view_artifact(window, window.services.artifacts, window.detail.current_artifact_id())
    assert viewer is not None
    qtbot.addWidget(viewer)
    assert not viewer.text.openLinks() and viewer.text.isReadOnly()
    assert "Orca" in viewer.text.toPlainText()
