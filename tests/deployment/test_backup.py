"""Backups that restore: round trip, concurrent writers, refused archives, retention, migration."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

import pytest

from desktop_app.app import main
from desktop_app.domain.errors import InputRejected, OperationCancelled
from desktop_app.infra.paths import DataPaths
from desktop_app.services import backup as backups
from desktop_app.services.context import open_data_folder
from desktop_app.services.intake import IntakeService
from desktop_app.services.settings import SettingsService

from .support import chain_ok, edit_database, integrity, rewrite, tree


@pytest.fixture
def filled(ctx, people, samples_dir: Path, tmp_path: Path):  # noqa: ANN001, ANN201
    """A data folder with two imported packages, files attached by hand and a logo blob setting."""
    intake = IntakeService(ctx)
    first = intake.import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    intake.import_package(people["rev"], samples_dir / "helix-sparrow-2.0.zip")
    extra = tmp_path / "notes.txt"
    extra.write_bytes(b"reviewer notes, attached by hand\n" * 100)
    intake.attach_files(people["rev"], first.submission_id, [(extra, "other")])
    logo = ctx.blobs.put_bytes(b"\x89PNG fake logo bytes")
    SettingsService(ctx).set(people["admin"], "agency_logo_blob", logo)
    return ctx


def _referenced(database: Path) -> set[str]:
    conn = sqlite3.connect(database)
    try:
        return backups.referenced_blobs(conn)
    finally:
        conn.close()


def test_round_trip_restores_database_and_every_referenced_blob(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    archive = tmp_path / "out" / "backup.zip"
    stray = ctx.blobs.put_bytes(b"a blob nothing refers to")
    result = backups.backup(ctx, archive)
    assert archive.is_file() and not list(archive.parent.glob(".*partial"))
    referenced = _referenced(ctx.paths.database)
    assert stray not in referenced and len(referenced) == result.blobs >= 10
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert {e["sha256"] for e in manifest["blobs"]} == referenced
        for entry in manifest["blobs"]:
            data = zf.read(f"blobs/{entry['sha256'][:2]}/{entry['sha256']}")
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert manifest["format"] == "clearance-desk-backup" and manifest["app_version"]
    assert manifest["schema_revision"] and manifest["created_at"].startswith("2026-11-02")
    assert not list(ctx.paths.backups.glob(".snapshot-*"))

    target = tmp_path / "restored"
    restored = backups.restore(archive, target)
    assert restored.kept_aside is None and restored.blobs_added == len(referenced)
    paths = DataPaths(target)
    assert integrity(paths.database) == ["ok"]
    for digest in referenced:
        blob = paths.blobs / digest[:2] / digest
        assert blob.read_bytes() == ctx.blobs.read_bytes(digest)
    assert not (paths.blobs / stray[:2] / stray).exists()
    again = open_data_folder(target)
    try:
        ok, events = chain_ok(again)
        assert ok and events == result.audit_events + 1  # the restore is itself audited
        assert SettingsService(again).get("agency_logo_blob") == SettingsService(ctx).get("agency_logo_blob")
    finally:
        again.close()


def test_backup_during_concurrent_writes_restores_a_consistent_database(ctx, people, tmp_path: Path) -> None:  # noqa: ANN001
    """A second connection keeps attaching files (blob + rows + audit event) while the backup runs."""
    intake = IntakeService(ctx)
    from desktop_app.services.intake import ManualRegistration

    sub = intake.register_by_hand(people["rev"], ManualRegistration(
        developer_name="Aster AI Ltd.", contact_name="A. Person", contact_email="a@aster.example",
        model_name="Kite", model_version="1", intended_release=None))
    for n in range(200):  # enough rows that the snapshot is not instantaneous
        ctx.blobs.put_bytes(f"filler {n}".encode() * 2000)
    stop = threading.Event()
    written: list[float] = []
    errors: list[BaseException] = []
    files = tmp_path / "incoming"
    files.mkdir()

    def writer() -> None:
        other = open_data_folder(ctx.paths.root, migrate=False)
        try:
            service = IntakeService(other)
            n = 0
            while not stop.is_set() and n < 2000:
                n += 1
                path = files / f"evidence-{n}.bin"
                path.write_bytes(hashlib.sha256(str(n).encode()).digest() * (256 + n))
                service.attach_files(people["rev"], sub.submission_id, [(path, "other")])
                written.append(time.monotonic())
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(written) < 5 and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.01)
        started = time.monotonic()
        result = backups.backup(ctx, tmp_path / "live.zip")
        finished = time.monotonic()
        deadline = time.monotonic() + 20
        while not any(t > finished for t in written) and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert any(t < started for t in written) and any(t > finished for t in written), "the writes did not overlap"

    target = tmp_path / "restored"
    restored = backups.restore(tmp_path / "live.zip", target)
    paths = DataPaths(target)
    assert integrity(paths.database) == ["ok"]
    conn = sqlite3.connect(paths.database)
    digests = [row[0] for row in conn.execute("SELECT sha256 FROM artifacts")]
    conn.close()
    assert len(digests) >= 5
    for digest in digests:
        data = (paths.blobs / digest[:2] / digest).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
    assert restored.audit_events == result.audit_events + 1
    assert main(["--data-dir", str(target), "audit", "verify"]) == 0


def test_restore_over_existing_data_keeps_the_replaced_database_aside(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    archive = backups.backup(ctx, tmp_path / "b.zip").path
    before = ctx.paths.database.read_bytes()
    IntakeService(ctx).register_by_hand  # noqa: B018 - the folder keeps changing after the backup
    with ctx.transaction() as session:
        from desktop_app.services import audit

        audit.record(session, actor="admin", action="test.after_backup", entity_type="test", entity_id=1,
                     now=ctx.now())
    ctx.close()
    before_restore = tree(ctx.paths.root)
    with pytest.raises(InputRejected, match="older than this data folder"):
        backups.restore(archive, ctx.paths.root)  # the folder moved on since: not without a reason
    assert tree(ctx.paths.root) == before_restore
    result = backups.restore(archive, ctx.paths.root, force=True, reason="test: going back to the backup")
    assert result.overridden and "older than this data folder" in result.summary()
    assert result.kept_aside is not None and result.kept_aside.parent == ctx.paths.backups
    kept = sqlite3.connect(result.kept_aside)
    assert kept.execute("SELECT count(*) FROM audit_events WHERE action = 'test.after_backup'").fetchone() == (1,)
    kept.close()
    now = sqlite3.connect(ctx.paths.database)
    assert now.execute("SELECT count(*) FROM audit_events WHERE action = 'test.after_backup'").fetchone() == (0,)
    assert now.execute("SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone() == ("data.restore",)
    now.close()
    assert before  # the replaced database was a real one
    assert not list(ctx.paths.root.glob(".restore-*"))


def test_restore_refuses_while_the_database_is_open(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    archive = backups.backup(ctx, tmp_path / "b.zip").path
    with ctx.reading() as session:  # the window holds pooled connections
        from sqlalchemy import text

        session.execute(text("SELECT 1"))
    before = tree(ctx.paths.root)
    with pytest.raises(backups.DatabaseInUse, match="in use"):
        backups.restore(archive, ctx.paths.root)
    assert tree(ctx.paths.root) == before


# -- refused archives --------------------------------------------------------------------------


def _flip_blob(members: dict[str, bytes]) -> dict[str, bytes]:
    name = next(n for n in members if n.startswith("blobs/"))
    data = bytearray(members[name])
    data[len(data) // 2] ^= 0x01
    return {**members, name: bytes(data)}


def _drop_blob(members: dict[str, bytes]) -> dict[str, bytes]:
    name = next(n for n in members if n.startswith("blobs/"))
    return {n: d for n, d in members.items() if n != name}


DAMAGE = {
    "truncated zip": None,
    "crc damage": None,
    "not a zip": None,
    "zip without manifest": lambda m: {"readme.txt": b"just some zip"},
    "manifest of another format": lambda m: {**m, "manifest.json": json.dumps({"format": "other"}).encode()},
    "newer backup format": lambda m: {**m, "manifest.json": json.dumps(
        {**json.loads(m["manifest.json"]), "format_version": 99}).encode()},
    "bad blob digest": _flip_blob,
    "bad database digest": lambda m: {**m, "database.sqlite3": m["database.sqlite3"][:-1] + b"\x01"},
    "missing member": _drop_blob,
    "missing database": lambda m: {n: d for n, d in m.items() if n != "database.sqlite3"},
    "extra member": lambda m: {**m, "blobs/../../evil.sh": b"#!/bin/sh\n"},
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_archive_is_refused_and_the_data_folder_is_untouched(filled, tmp_path: Path, kind: str) -> None:  # noqa: ANN001
    ctx = filled
    good = backups.backup(ctx, tmp_path / "good.zip").path
    bad = tmp_path / "bad.zip"
    if kind == "truncated zip":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    elif kind == "crc damage":
        raw = bytearray(good.read_bytes())
        with zipfile.ZipFile(good) as zf:
            info = zf.getinfo("database.sqlite3")
        offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
        raw[offset] ^= 0xFF
        bad.write_bytes(bytes(raw))
    elif kind == "not a zip":
        bad.write_bytes(b"%PDF-1.7 this is not a backup\n" * 50)
    else:
        rewrite(good, bad, DAMAGE[kind])  # type: ignore[arg-type]
    ctx.close()
    before = tree(ctx.paths.root)
    with pytest.raises(InputRejected) as refused:
        backups.restore(bad, ctx.paths.root)
    message = str(refused.value)
    assert str(bad) in message and "\n" not in message
    assert tree(ctx.paths.root) == before, "a refused restore changed the data folder"


def test_broken_audit_chain_is_refused(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    good = backups.backup(ctx, tmp_path / "good.zip").path
    bad = rewrite(good, tmp_path / "bad.zip", lambda m: {**m, "database.sqlite3": edit_database(
        m["database.sqlite3"], tmp_path, "DROP TRIGGER audit_events_no_update",
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")}, fix_manifest=True)
    ctx.close()
    before = tree(ctx.paths.root)
    with pytest.raises(InputRejected, match=r"audit chain is broken at event 2: .*edited"):
        backups.restore(bad, ctx.paths.root)
    assert tree(ctx.paths.root) == before


def test_database_failing_integrity_check_is_refused(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    good = backups.backup(ctx, tmp_path / "good.zip").path

    def corrupt(members: dict[str, bytes]) -> dict[str, bytes]:
        db = bytearray(members["database.sqlite3"])
        page = 4096
        for offset in range(2 * page, len(db) - page, 3 * page):  # scribble over b-tree pages
            db[offset:offset + 64] = b"\xA5" * 64
        return {**members, "database.sqlite3": bytes(db)}

    bad = rewrite(good, tmp_path / "bad.zip", corrupt, fix_manifest=True)
    ctx.close()
    before = tree(ctx.paths.root)
    with pytest.raises(InputRejected, match="integrity_check|not a readable SQLite database|malformed"):
        backups.restore(bad, ctx.paths.root)
    assert tree(ctx.paths.root) == before


def test_database_referring_to_a_blob_the_archive_lacks_is_refused(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    good = backups.backup(ctx, tmp_path / "good.zip").path

    def forget(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members["manifest.json"])
        gone = manifest["blobs"].pop()
        out = {n: d for n, d in members.items() if not n.endswith(gone["sha256"])}
        out["manifest.json"] = json.dumps(manifest).encode()
        return out

    bad = rewrite(good, tmp_path / "bad.zip", forget)
    with pytest.raises(InputRejected, match="refers to 1 blob"):
        backups.restore(bad, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()


def test_backup_from_a_newer_schema_is_refused(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    good = backups.backup(ctx, tmp_path / "good.zip").path

    def newer(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members["manifest.json"])
        manifest["schema_revision"] = "9999_future"
        db = edit_database(members["database.sqlite3"], tmp_path, "UPDATE alembic_version SET version_num = '9999_future'")
        return {**members, "manifest.json": json.dumps(manifest).encode(), "database.sqlite3": db}

    bad = rewrite(good, tmp_path / "bad.zip", newer, fix_manifest=True)
    with pytest.raises(InputRejected, match="newer Clearance Desk"):
        backups.restore(bad, tmp_path / "elsewhere")


# -- older versions migrate --------------------------------------------------------------------

EXTRA_REVISION = '''"""Test-only revision on top of the real head: a later version's schema."""
from alembic import op
import sqlalchemy as sa

revision = "zz_test_later"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("later_feature", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("later_feature")
'''


def test_backup_from_an_older_schema_is_migrated_on_restore(filled, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The running version is one revision ahead of the backup: restore migrates the restored copy."""
    import shutil

    from desktop_app.storage import migrate

    ctx = filled
    older_head = migrate.head_revision()
    archive = backups.backup(ctx, tmp_path / "older.zip").path
    later = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, later, ignore=shutil.ignore_patterns("__pycache__"))
    (later / "versions" / "zz_test_later.py").write_text(EXTRA_REVISION.format(head=older_head))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", later)
    assert migrate.head_revision() == "zz_test_later"

    target = tmp_path / "restored"
    result = backups.restore(archive, target)
    assert result.migrated_from == older_head
    conn = sqlite3.connect(DataPaths(target).database)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("zz_test_later",)
    assert conn.execute("SELECT count(*) FROM later_feature").fetchone() == (0,)
    assert [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
    conn.close()
    assert main(["--data-dir", str(target), "audit", "verify"]) == 0


def test_backup_at_the_previous_real_revision_is_migrated(filled, tmp_path: Path) -> None:  # noqa: ANN001
    """With a real earlier revision (0002 onwards), downgrade an archived copy and restore it."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from sqlalchemy import create_engine

    from desktop_app.storage import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config())
    previous = script.get_revision(migrate.head_revision()).down_revision
    assert previous, "a migration test needs at least two schema revisions"
    ctx = filled
    good = backups.backup(ctx, tmp_path / "good.zip").path

    def downgrade(members: dict[str, bytes]) -> dict[str, bytes]:
        path = tmp_path / "down.sqlite3"
        path.write_bytes(members["database.sqlite3"])
        engine = create_engine(f"sqlite:///{path}")  # foreign keys off, as SQLite batch downgrades need
        config = migrate.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, str(previous))
        engine.dispose()
        sqlite3.connect(path).execute("PRAGMA journal_mode=DELETE").close()
        manifest = json.loads(members["manifest.json"])
        manifest["schema_revision"] = str(previous)
        return {**members, "database.sqlite3": path.read_bytes(), "manifest.json": json.dumps(manifest).encode()}

    older = rewrite(good, tmp_path / "older.zip", downgrade, fix_manifest=True)
    result = backups.restore(older, tmp_path / "restored")
    assert result.migrated_from == previous
    assert main(["--data-dir", str(tmp_path / "restored"), "audit", "verify"]) == 0


# -- automatic backups, cancellation, PostgreSQL -------------------------------------------------


def test_automatic_backups_once_a_day_keeping_the_newest_n(ctx, people, clock) -> None:  # noqa: ANN001
    SettingsService(ctx).set(people["admin"], "backup_keep", 3)
    manual = ctx.paths.backups / "clearance-desk-pre-migrate-0001-20260101T000000Z.sqlite3"
    manual.write_bytes(b"kept: not an automatic backup")
    made = []
    for day in range(6):
        first = backups.automatic_backup(ctx)
        assert first is not None
        made.append(first.path.name)
        clock.advance(hours=2)
        assert backups.automatic_backup(ctx) is None, "a second backup on the same day"
        clock.advance(hours=22)
    autos = [p.name for p in backups.automatic_backups(ctx.paths.backups)]
    assert autos == made[-3:]
    assert manual.is_file()


def test_cancelled_backup_leaves_no_file(filled, tmp_path: Path) -> None:  # noqa: ANN001
    calls = []

    def cancel_after_some() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(OperationCancelled):
        backups.backup(filled, tmp_path / "c.zip", cancelled=cancel_after_some)
    assert list(tmp_path.glob("*c.zip*")) == []
    assert not list(filled.paths.backups.glob(".snapshot-*"))


def test_progress_is_reported_in_bytes(filled, tmp_path: Path) -> None:  # noqa: ANN001
    seen: list[tuple[str, int, int]] = []
    backups.backup(filled, tmp_path / "p.zip", progress=lambda m, d, t: seen.append((m, d, t)))
    assert seen[0][0].startswith("Taking a snapshot")
    assert seen[-1][1] == seen[-1][2] > 0
    assert all(d <= t for _m, d, t in seen if t)


def test_postgresql_is_the_dbas_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://clearance:s3cret@db.agency.internal/clearance"
    with pytest.raises(backups.PostgresNotBackedUp, match="pg_dump") as refused:
        backups.backup(DataPaths(tmp_path), tmp_path / "x.zip", db_url=url)
    assert "s3cret" not in str(refused.value)
    assert main(["--data-dir", str(tmp_path), "--db-url", url, "backup", str(tmp_path / "x.zip"),
                 "--as", "admin"]) == 1
    err = capsys.readouterr().err
    assert "pg_dump" in err and "s3cret" not in err and len(err.strip().splitlines()) == 1
    assert main(["--data-dir", str(tmp_path), "--db-url", url, "restore", str(tmp_path / "x.zip"),
                 "--as", "admin"]) == 1
    assert "pg_dump" in capsys.readouterr().err


# -- command line ---------------------------------------------------------------------------------


def test_cli_backup_and_restore(filled, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: ANN001
                                monkeypatch: pytest.MonkeyPatch) -> None:
    from team_support import PASSWORD

    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", PASSWORD)
    folder = filled.paths.root
    filled.close()
    archive = tmp_path / "cli.zip"
    assert main(["--data-dir", str(folder), "backup", str(archive), "--as", "admin"]) == 0
    out = capsys.readouterr()
    assert "backup written" in out.out and "Taking a snapshot" in out.err
    assert main(["--data-dir", str(tmp_path / "new"), "restore", str(archive), "--as", "admin"]) == 0
    assert "restored" in capsys.readouterr().out
    archive.write_bytes(archive.read_bytes()[:1000])
    before = tree(tmp_path / "new")
    assert main(["--data-dir", str(tmp_path / "new"), "restore", str(archive), "--as", "admin"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {archive}") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert tree(tmp_path / "new") == before
    assert main(["--data-dir", str(tmp_path / "empty"), "backup", str(tmp_path / "e.zip"), "--as", "admin"]) == 1
    assert "no database to back up" in capsys.readouterr().err
    assert main(["backup"]) == 2


def test_only_a_signed_in_admin_backs_up_or_restores_and_a_backup_is_audited(
        filled, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from team_support import PASSWORD

    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", PASSWORD)
    folder = filled.paths.root
    filled.close()
    archive = tmp_path / "a.zip"
    for user in ("rev", "sup"):
        assert main(["--data-dir", str(folder), "backup", str(archive), "--as", user]) == 1
        assert capsys.readouterr().err.strip().splitlines()[-1] == "error: Only an administrator may back up the data."
    assert not archive.exists()
    assert main(["--data-dir", str(folder), "backup", str(archive), "--as", "admin"]) == 0
    db = sqlite3.connect(folder / "clearance-desk.sqlite3")
    events = db.execute("SELECT actor, action, after FROM audit_events WHERE action IN "
                        "('data.backup', 'permission.refused') ORDER BY seq").fetchall()
    db.close()
    assert [(actor, action) for actor, action, _ in events] == [
        ("rev", "permission.refused"), ("sup", "permission.refused"), ("admin", "data.backup")]
    assert json.loads(events[-1][2])["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    capsys.readouterr()
    # into a folder with data: an administrator of that folder; into an empty one: an administrator in the backup
    assert main(["--data-dir", str(folder), "restore", str(archive), "--as", "sup"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: Only an administrator may restore a backup."
    assert main(["--data-dir", str(tmp_path / "fresh"), "restore", str(archive), "--as", "rev"]) == 1
    assert "Only an administrator of the backed-up data may restore it." in capsys.readouterr().err
    assert not (tmp_path / "fresh" / "clearance-desk.sqlite3").exists()
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", "not the password")
    assert main(["--data-dir", str(tmp_path / "fresh"), "restore", str(archive), "--as", "admin"]) == 1
    assert "wrong user name or password" in capsys.readouterr().err
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", PASSWORD)
    assert main(["--data-dir", str(folder), "restore", str(archive), "--as", "admin"]) == 0
    db = sqlite3.connect(folder / "clearance-desk.sqlite3")
    assert db.execute("SELECT actor FROM audit_events WHERE action = 'data.restore'").fetchall() == [("admin",)]
    db.close()


def test_backup_names_sort_by_time() -> None:
    moment = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    assert backups.suggested_name(moment).startswith("clearance-desk-backup-2026-03-0")


def test_restore_over_a_damaged_database_keeps_its_files_aside_as_they_were(filled, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = filled
    archive = backups.backup(ctx, tmp_path / "b.zip").path
    ctx.close()
    garbage = b"this database was overwritten by something\n" * 500
    for suffix in ("-wal", "-shm"):
        ctx.paths.database.with_name(ctx.paths.database.name + suffix).unlink(missing_ok=True)
    ctx.paths.database.write_bytes(garbage)
    result = backups.restore(archive, ctx.paths.root)
    assert result.kept_aside is not None and result.kept_aside.read_bytes() == garbage
    assert integrity(ctx.paths.database) == ["ok"]
