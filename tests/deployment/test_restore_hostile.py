"""Restores that cannot poison (issue 14, item 3).

An outsider with the backup file edits its database (and recomputes the manifest's
digest, as anyone can) and hands it to `clearance-desk restore`. Whatever schema the
file brings is refused, exit 1, one line, and the data folder is left as it was.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desktop_app.app import main
from desktop_app.infra.paths import DataPaths
from desktop_app.services import backup as backups
from desktop_app.services.intake import IntakeService

from conftest import PASSWORD

from .support import edit_database, rewrite, tree


def _data(folder: Path) -> dict[str, object]:
    """The folder's content: its files but the logs and the database, and the database's schema and rows.

    The restore command signs its administrator in, which the audit trail and the account
    record: audit events and accounts are compared apart from that sign-in.
    """
    files: dict[str, object] = {name: digest for name, digest in tree(folder).items()
                                if not name.startswith(("logs", "clearance-desk.sqlite3"))}
    database = DataPaths(folder).database
    if database.is_file():
        conn = sqlite3.connect(database)
        try:
            files["schema"] = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'queue_search%'").fetchall():
                where = " WHERE action <> 'login'" if table == "audit_events" else ""
                columns = ", ".join(f'"{c[1]}"' for c in conn.execute(f'PRAGMA table_info("{table}")')
                                    if c[1] != "last_login_at")
                files[table] = conn.execute(f'SELECT {columns} FROM "{table}"{where} ORDER BY 1').fetchall()
        finally:
            conn.close()
    return files


def _error_line(err: str) -> str:
    """The one error line (progress stages are printed on stderr too); never a traceback."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]

PROMOTE = ("CREATE TRIGGER promote_on_sign_in AFTER INSERT ON audit_events BEGIN "
           "UPDATE users SET role = 'supervisor' WHERE username = 'rev'; END")

HOSTILE = {
    "extra trigger": ((PROMOTE,), "an extra trigger 'promote_on_sign_in'"),
    "view hiding revocations": ((
        "ALTER TABLE letter_revocations RENAME TO revocations_kept",
        "CREATE VIEW letter_revocations AS SELECT * FROM revocations_kept WHERE 0"),
        "an extra table 'revocations_kept', an extra view 'letter_revocations', no table 'letter_revocations'"),
    "append-only triggers missing": ((
        "DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"),
        "no trigger 'audit_events_no_delete', no trigger 'audit_events_no_update'"),
    "extra index": (("CREATE INDEX ix_sneaky ON users (role)",), "an extra index 'ix_sneaky'"),
    "extra column": (("ALTER TABLE users ADD COLUMN backdoor TEXT",), "a different table 'users'"),
}


@pytest.fixture
def folder(ctx, people, samples_dir: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    """A data folder with one import; the restore command signs in as its administrator."""
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", PASSWORD)
    IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    return ctx


@pytest.mark.parametrize("attack", sorted(HOSTILE))
@pytest.mark.parametrize("into", ["the same folder", "a new folder"])
def test_a_backup_with_a_foreign_schema_is_refused(folder, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    attack: str, into: str) -> None:  # noqa: ANN001
    statements, named = HOSTILE[attack]
    good = backups.backup(folder, tmp_path / "good.zip").path
    bad = rewrite(good, tmp_path / "bad.zip", lambda m: {**m, "database.sqlite3": edit_database(
        m["database.sqlite3"], tmp_path, *statements)}, fix_manifest=True)
    folder.close()
    target = folder.paths.root if into == "the same folder" else tmp_path / "new"
    before = _data(target)
    assert main(["--data-dir", str(target), "restore", str(bad), "--as", "admin"]) == 1
    err = _error_line(capsys.readouterr().err)
    assert err.startswith(f"error: {bad}: database.sqlite3: its database is not what schema revision ")
    assert named in err and "a backup brings data only" in err
    assert _data(target) == before, "a refused restore changed the data folder"


def test_the_good_backup_of_the_same_folder_restores(folder, tmp_path: Path) -> None:  # noqa: ANN001
    """The control: untouched, the same backup restores, with the migrations' triggers and the search index."""
    good = backups.backup(folder, tmp_path / "good.zip").path
    folder.close()
    assert main(["--data-dir", str(folder.paths.root), "restore", str(good), "--as", "admin"]) == 0
    conn = sqlite3.connect(folder.paths.database)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"audit_events_no_update", "audit_events_no_delete", "queue_search_finding_insert"} <= names
        assert conn.execute("SELECT count(*) FROM queue_search WHERE queue_search MATCH 'orca'").fetchone() == (1,)
        assert conn.execute("SELECT role FROM users WHERE username = 'rev'").fetchone() == ("reviewer",)
    finally:
        conn.close()
    assert main(["--data-dir", str(folder.paths.root), "audit", "verify"]) == 0


def test_a_chain_shorter_than_the_manifest_says_is_refused(folder, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    """The last events deleted (triggers dropped first and put back): the chain itself is intact, but short."""
    good = backups.backup(folder, tmp_path / "good.zip").path
    with sqlite3.connect(folder.paths.database) as conn:
        triggers = [sql for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_events_no_delete'")]
    bad = rewrite(good, tmp_path / "bad.zip", lambda m: {**m, "database.sqlite3": edit_database(
        m["database.sqlite3"], tmp_path, "DROP TRIGGER audit_events_no_delete",
        "DELETE FROM audit_events WHERE seq > (SELECT max(seq) - 3 FROM audit_events)", *triggers)},
        fix_manifest=True)
    folder.close()
    target = tmp_path / "new"
    assert main(["--data-dir", str(target), "restore", str(bad), "--as", "admin"]) == 1
    err = _error_line(capsys.readouterr().err)
    assert "fewer than the" in err and "events were removed" in err
    assert _data(target) == {}


def test_an_older_backup_is_refused_unless_forced_with_a_reason(folder, people, samples_dir: Path,
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    archive = backups.backup(folder, tmp_path / "monday.zip").path
    later = IntakeService(folder).import_package(people["rev"], samples_dir / "helix-sparrow-2.0.zip")
    assert later.reference == "CD-2026-0002"
    folder.close()
    root = folder.paths.root
    before = _data(root)
    assert main(["--data-dir", str(root), "restore", str(archive), "--as", "admin"]) == 1
    err = _error_line(capsys.readouterr().err)
    assert "older than this data folder" in err and "--force --reason" in err
    assert _data(root) == before
    assert main(["--data-dir", str(root), "restore", str(archive), "--as", "admin", "--force"]) == 2  # no reason, no force
    assert _data(root) == before
    capsys.readouterr()
    assert main(["--data-dir", str(root), "restore", str(archive), "--as", "admin", "--force", "--reason",
                 "ransomware on Tuesday; Monday's backup is the last clean one"]) == 0
    assert "forced: it is older than this data folder" in capsys.readouterr().out
    conn = sqlite3.connect(folder.paths.database)
    try:
        after = json.loads(conn.execute("SELECT after FROM audit_events WHERE action = 'data.restore'").fetchone()[0])
        counter = conn.execute("SELECT value FROM counters WHERE name = 'CD-2026'").fetchone()
    finally:
        conn.close()
    assert after["forced"]["reason"] == "ransomware on Tuesday; Monday's backup is the last clean one"
    assert counter == (2,)  # the next submission is CD-2026-0003: CD-2026-0002 was issued once already
