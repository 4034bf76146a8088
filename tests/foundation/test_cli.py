"""The command line: init, audit verify, smoke test, exit codes and clean errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.app import main


def run_cli(*args: str, password: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CLEARANCE_DESK_PASSWORD"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if password is not None:
        env["CLEARANCE_DESK_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120)


def test_init_creates_the_first_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", "a sturdy admin passphrase")
    assert main(["--data-dir", str(tmp_path / "d"), "init", "--admin", "chief"]) == 0
    assert "created administrator chief" in capsys.readouterr().out
    assert (tmp_path / "d" / "clearance-desk.sqlite3").exists()
    assert main(["--data-dir", str(tmp_path / "d"), "init", "--admin", "other"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_init_with_a_weak_password_names_the_field_and_writes_no_account(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", "short")
    assert main(["--data-dir", str(tmp_path / "d"), "init", "--admin", "chief"]) == 1
    err = capsys.readouterr().err
    assert "password" in err and "Traceback" not in err
    count = sqlite3.connect(tmp_path / "d" / "clearance-desk.sqlite3").execute("SELECT count(*) FROM users").fetchone()
    assert count == (0,)


def test_init_without_a_password_source_is_a_usage_error(tmp_path: Path) -> None:
    out = run_cli("--data-dir", str(tmp_path / "d"), "init", "--admin", "chief", stdin="")
    assert out.returncode == 2
    assert "CLEARANCE_DESK_PASSWORD" in out.stderr and "Traceback" not in out.stderr


def test_unknown_command_is_a_usage_error() -> None:
    assert run_cli("frobnicate").returncode == 2


def test_data_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARANCE_DESK_DATA_DIR", str(tmp_path / "env-dir"))
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", "a sturdy admin passphrase")
    assert main(["init", "--admin", "chief"]) == 0
    assert (tmp_path / "env-dir" / "clearance-desk.sqlite3").exists()


def test_audit_verify_passes_then_names_the_tampered_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "d"
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", "a sturdy admin passphrase")
    assert main(["--data-dir", str(folder), "init", "--admin", "chief"]) == 0
    assert main(["--data-dir", str(folder), "audit", "verify"]) == 0
    assert "audit chain intact: 1 events" in capsys.readouterr().out
    conn = sqlite3.connect(folder / "clearance-desk.sqlite3")
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    conn.commit()
    conn.close()
    assert main(["--data-dir", str(folder), "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "event 1" in err and "edited" in err


def test_demo_then_smoke_test(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    out = run_cli("--data-dir", str(folder), "demo")
    assert out.returncode == 0, out.stderr
    assert "demo data folder ready" in out.stdout
    smoke = run_cli("--data-dir", str(folder), "--smoke-test", "--user", "reviewer", password="clearance-demo")
    assert smoke.returncode == 0, smoke.stderr
    assert "first queue page painted" in smoke.stdout and "(16 submissions" in smoke.stdout
    bad = run_cli("--data-dir", str(folder), "--smoke-test", "--user", "reviewer", password="wrong password!")
    assert bad.returncode == 1 and "wrong user name or password" in bad.stderr


def test_import_refuses_a_password_that_must_be_changed(tmp_path: Path, samples_dir: Path) -> None:
    """A temporary password set by an administrator opens nothing from the command line."""
    from desktop_app.domain.types import Role
    from desktop_app.services.context import open_data_folder
    from desktop_app.services.users import UserService

    folder = tmp_path / "d"
    ctx = open_data_folder(folder)
    try:
        users = UserService(ctx)
        users.create_first_admin("chief", "Chief", "a sturdy admin passphrase")
        chief = users.authenticate("chief", "a sturdy admin passphrase")
        users.create_user(chief, "newbie", "New Reviewer", Role.REVIEWER, "a temporary passphrase 42")
    finally:
        ctx.close()
    package = next(p for p in sorted(samples_dir.iterdir()) if p.is_dir())
    out = run_cli("--data-dir", str(folder), "import", str(package), "--as", "newbie",
                  password="a temporary passphrase 42")
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: newbie has a temporary password that must be changed: change your password in the application first"]


def test_loading_the_letter_modules_prints_no_library_warning() -> None:
    """A library's deprecation notice (pyHanko importing DSA) must not reach a reviewer's terminal."""
    code = ("import desktop_app.letters.signing, desktop_app.letters.verify, desktop_app.letters.trust,"
            " desktop_app.services.letter_scan")
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
