"""Logs: a rotating file in the data folder, one named logger per area, and no secrets in them."""

from __future__ import annotations

import ast
import logging
import logging.handlers
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.infra.logging_setup import ROOT_LOGGER, setup_logging

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "desktop_app"

DEMO_PASSWORD = "clearance-demo"
WRONG_PASSWORDS = ("Wr0ng-horse-battery-41", "not the password at all 99")
ADMIN_PASSWORD = "a sturdy admin passphrase 42"
SUITE_PASSWORD = "correct horse battery staple 7"
TEST_PINS = ("246810", "13572468")
PACKAGE_CONTENT = ("general-purpose text and code model", "multi-turn role-play bypass", "phishing kit code")


def test_one_named_logger_per_area() -> None:
    names: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "getLogger" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                names.setdefault(node.args[0].value, []).append(str(path.relative_to(ROOT)))
    ours = {name for name in names if name.startswith(f"{ROOT_LOGGER}.")}
    strays = {name: where for name, where in names.items()
              if name not in ours and not name.startswith(("pyhanko", "pyhanko_certvalidator"))}
    assert strays == {}, f"loggers outside {ROOT_LOGGER}.*: {strays}"
    areas = {name.split(".")[1] for name in ours}
    assert {"app", "cli", "storage", "services", "ui", "backup", "intake", "letters", "demo"} <= areas


def test_the_log_file_rotates_inside_the_data_folder(tmp_path: Path) -> None:
    root = setup_logging(tmp_path / "logs")
    try:
        handlers = [h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
        assert len(handlers) == 1
        handler = handlers[0]
        assert Path(handler.baseFilename).parent == tmp_path / "logs"
        assert handler.maxBytes > 0 and handler.backupCount >= 1
        logging.getLogger(f"{ROOT_LOGGER}.backup").info("written to the file")
        handler.flush()
        assert "clearance_desk.backup: written to the file" in Path(handler.baseFilename).read_text()
    finally:
        setup_logging(None)


def _run(*args: str, password: str | None, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_DESK_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if password is not None:
        env["CLEARANCE_DESK_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "desktop_app", "--data-dir", str(folder), *args],
                          capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL)


def _secrets_in(text: str) -> list[str]:
    found = [s for s in (DEMO_PASSWORD, *WRONG_PASSWORDS, ADMIN_PASSWORD, SUITE_PASSWORD, *PACKAGE_CONTENT)
             if s in text]
    found += [pin for pin in TEST_PINS if re.search(rf"(?<![0-9a-fA-F]){pin}(?![0-9a-fA-F])", text)]
    return found


def test_no_password_passphrase_pin_or_package_content_reaches_a_log_or_stderr(tmp_path: Path,
                                                                             samples_dir: Path) -> None:
    demo, fresh = tmp_path / "demo", tmp_path / "fresh"
    runs = [
        (("demo",), None, demo, 0),
        (("--smoke-test", "--user", "reviewer"), DEMO_PASSWORD, demo, 0),
        (("--smoke-test", "--user", "reviewer"), WRONG_PASSWORDS[0], demo, 1),
        (("import", str(samples_dir / "helix-sparrow-2.0.zip"), "--as", "reviewer2"), WRONG_PASSWORDS[1], demo, 1),
        (("import", str(samples_dir / "northwind-orca-3.1"), "--as", "reviewer2"), DEMO_PASSWORD, demo, 1),
        (("init", "--admin", "chief"), ADMIN_PASSWORD, fresh, 0),
        (("import", str(samples_dir / "northwind-orca-3.1"), "--as", "chief"), ADMIN_PASSWORD, fresh, 1),
        (("backup", str(tmp_path / "b.zip"), "--as", "admin"), DEMO_PASSWORD, demo, 0),
        (("restore", str(tmp_path / "b.zip"), "--as", "admin"), DEMO_PASSWORD, tmp_path / "restored", 0),
        (("audit", "verify"), None, demo, 0),
    ]
    runs += [(("--smoke-test", "--user", "chief"), WRONG_PASSWORDS[i % 2], fresh, 1) for i in range(6)]
    stderr = []
    for args, password, folder, expected in runs:
        out = _run(*args, password=password, folder=folder)
        assert out.returncode == expected, f"{args}: {out.stderr[-1500:]}"
        stderr.append(out.stderr)
    logs = sorted(p for folder in (demo, fresh, tmp_path / "restored") for p in (folder / "logs").glob("*.log*"))
    assert logs, "no log file was written"
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "clearance_desk." in text and "imported" in text, "the logs are suspiciously empty"
    assert _secrets_in(text) == [], "secrets or package content in the log files"
    assert _secrets_in("\n".join(stderr)) == [], "secrets or package content on stderr"


def test_the_secret_check_would_notice() -> None:
    assert _secrets_in(f"login failed for x with {WRONG_PASSWORDS[0]}") == [WRONG_PASSWORDS[0]]
    assert _secrets_in("pin 246810 used") == ["246810"]
    assert _secrets_in("digest ab246810cd") == []


@pytest.mark.parametrize("role", ["admin", "rev"])
def test_help_show_log_folder_shows_the_path_with_a_copy_button(qtbot, ctx, people, role: str,  # noqa: ANN001
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtGui import QGuiApplication

    from desktop_app.services.bundle import Services
    from desktop_app.ui.admin import backup as backup_dialogs
    from desktop_app.ui.mainwindow.window import MainWindow

    shown: list[backup_dialogs.LogFolderDialog] = []
    monkeypatch.setattr(backup_dialogs.LogFolderDialog, "exec", lambda self: shown.append(self) or 0)
    window = MainWindow(Services.from_context(ctx), people[role])
    qtbot.addWidget(window)
    action = next(a for m in window.menuBar().actions() if m.text() == "&Help"
                  for a in m.menu().actions() if a.text() == "Show &log folder")
    action.trigger()
    assert len(shown) == 1
    dialog = shown[0]
    qtbot.addWidget(dialog)
    assert dialog.path.text() == str(ctx.paths.logs) and dialog.path.isReadOnly()
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == str(ctx.paths.logs)
