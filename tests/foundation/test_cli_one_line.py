"""One line, never a traceback (issue 14, item 8): hostile files, damaged databases, bad arguments."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ADMIN_PASSWORD = "a sturdy admin passphrase"


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_DESK_")}
    env["CLEARANCE_DESK_PASSWORD"] = ADMIN_PASSWORD
    return subprocess.run([sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def one_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    errors = [line for line in errors if line.startswith("error:")] if len(errors) > 1 else errors
    assert len(errors) == 1, out.stderr
    return errors[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template") / "data"
    out = run_cli("--data-dir", str(folder), "init", "--admin", "chief")
    assert out.returncode == 0, out.stderr
    return folder


def _copy(template: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(template, target)
    return target


def _drop_audit(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TABLE audit_events")


def _scribble(database: Path) -> None:
    data = bytearray(database.read_bytes())
    data[5000:9000] = b"\xff" * 4000
    database.write_bytes(bytes(data))


def _truncate(database: Path) -> None:
    database.write_bytes(database.read_bytes()[:3000])


DAMAGE = {"dropped table": _drop_audit, "damaged": _scribble, "half-written": _truncate}
COMMANDS = {"audit verify": ("audit", "verify"), "verify": ("verify", "{pdf}"),
            "backup": ("backup", "{zip}", "--as", "chief")}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_database_is_one_line(template: Path, tmp_path: Path, damage: str, command: str) -> None:
    folder = _copy(template, tmp_path / "data")
    database = folder / "clearance-desk.sqlite3"
    DAMAGE[damage](database)
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    args = [part.format(pdf=pdf, zip=tmp_path / "b.zip") for part in COMMANDS[command]]
    line = one_error(run_cli("--data-dir", str(folder), *args))
    if damage != "dropped table" or command != "verify":  # verify stops earlier, at the missing trust anchor
        assert line.startswith(f"error: {database}: the database cannot be used (")


def test_a_locked_database_is_one_line(template: Path, tmp_path: Path) -> None:
    folder = _copy(template, tmp_path / "data")
    holder = sqlite3.connect(folder / "clearance-desk.sqlite3", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        line = one_error(run_cli("--data-dir", str(folder), "audit", "verify"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "database is locked" in line


def test_restore_over_a_dropped_table_or_of_one_is_one_line(template: Path, tmp_path: Path) -> None:
    folder = _copy(template, tmp_path / "data")
    assert run_cli("--data-dir", str(folder), "backup", str(tmp_path / "good.zip"), "--as", "chief").returncode == 0
    broken = _copy(template, tmp_path / "broken")
    _drop_audit(broken / "clearance-desk.sqlite3")
    # the folder to restore into is broken: the one line is about signing in to it
    line = one_error(run_cli("--data-dir", str(broken), "restore", str(tmp_path / "good.zip"), "--as", "chief"))
    assert "the database cannot be used (no such table: audit_events)" in line


@pytest.mark.parametrize("url", ["postgresql+psycopg://clerk:s3cret@127.0.0.1:1/nowhere", "foo://somewhere/db",
                                 "mysql+pymysqlx://db"])
def test_an_unreachable_or_unknown_db_url_is_one_line(tmp_path: Path, url: str) -> None:
    line = one_error(run_cli("--data-dir", str(tmp_path / "d"), "--db-url", url, "audit", "verify"))
    assert "s3cret" not in line and line.startswith("error: ")


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder")
    line = one_error(run_cli("--data-dir", str(afile), "audit", "verify"))
    assert line == f"error: {afile}: is a file, not a data folder; give a folder with --data-dir"


def test_verify_refuses_a_fifo_and_a_device_without_reading_them(tmp_path: Path, template: Path) -> None:
    fifo = tmp_path / "letter.pdf"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        line = one_error(run_cli("--data-dir", str(template), "verify", str(path), timeout=30))
        assert line == f"error: {path}: not a regular file (a device, pipe or folder); not a letter"


def test_verify_names_a_bad_trust_file(tmp_path: Path, template: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    line = one_error(run_cli("--data-dir", str(template), "verify", str(pdf), "--trust", str(bad)))
    assert line.startswith(f"error: {bad}: --trust: not an X.509 certificate")


def test_verify_with_a_missing_data_dir_creates_nothing(tmp_path: Path) -> None:
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    missing = tmp_path / "MISSING"
    one_error(run_cli("--data-dir", str(missing), "verify", str(pdf)))
    assert not missing.exists()


def test_library_warnings_go_to_the_log_file_not_stderr(tmp_path: Path) -> None:
    """pyHanko logs warnings with tracebacks while validating a hostile letter: the log file gets them."""
    probe = ("import logging, sys\nfrom pathlib import Path\n"
             "from desktop_app.infra.logging_setup import setup_logging\n"
             "setup_logging(Path(sys.argv[1]))\n"
             "try:\n    raise ValueError('malformed xref')\nexcept ValueError:\n"
             "    logging.getLogger('pyhanko.pdf_utils.reader').warning('could not read', exc_info=True)\n")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "logs")], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stderr == ""
    logged = (tmp_path / "logs" / "clearance-desk.log").read_text()
    assert "pyhanko.pdf_utils.reader: could not read" in logged and "ValueError: malformed xref" in logged

