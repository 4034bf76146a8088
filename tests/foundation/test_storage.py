"""Migrations, connection pragmas and the blob store's atomic writes."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from desktop_app.domain.errors import OperationCancelled
from desktop_app.storage.blobstore import BlobStore
from desktop_app.storage.database import make_engine
from desktop_app.storage.migrate import alembic_config, current_revision, head_revision, include_object, upgrade_to_head
from desktop_app.storage.models import Base


def test_revision_chain_is_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1
    revisions = list(script.walk_revisions())
    assert len(revisions) >= 1
    assert sum(1 for r in revisions if r.down_revision is None) == 1
    for revision in revisions:
        assert not isinstance(revision.down_revision, tuple), f"merge revision {revision.revision}"


def test_fresh_upgrade_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert upgrade_to_head(engine) is True
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}), Base.metadata)
    assert diff == []
    assert upgrade_to_head(engine) is False  # idempotent


def test_existing_database_is_backed_up_before_migrating(tmp_path: Path) -> None:
    """An existing database at another revision is copied (online backup API) first."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE marker (x INTEGER)")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'older-release'")
    with pytest.raises(Exception, match="older-release"):  # unknown to this build: refused after the backup
        upgrade_to_head(engine, backup_dir=tmp_path / "backups")
    backups = list((tmp_path / "backups").glob("*pre-migrate-older-release*.sqlite3"))
    assert len(backups) == 1
    backup = make_engine(f"sqlite:///{backups[0]}")
    with backup.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM marker")).scalar() == 0


def test_every_connection_has_wal_foreign_keys_and_full_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    upgrade_to_head(engine)
    for _ in range(3):  # fresh connections each time
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        engine.dispose()
    read_engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}", read_only=True)
    with read_engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2


def test_foreign_keys_are_enforced(ctx) -> None:  # noqa: ANN001
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with ctx.transaction() as session:
            session.execute(text("INSERT INTO artifacts (submission_id, path, kind, sha256, bytes, description, "
                                 "verified_at, added_by_hand) VALUES (999, 'x', 'other', :h, 1, '', '2026-01-01', 0)"),
                            {"h": "0" * 64})


def test_engines_are_not_made_at_import() -> None:
    import desktop_app.storage.database as database
    import desktop_app.storage.models as models

    from sqlalchemy import Engine

    assert not any(isinstance(v, Engine) for v in vars(database).values())
    assert not any(isinstance(v, Engine) for v in vars(models).values())


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_blob_is_named_by_its_sha256_and_written_whole(tmp_path: Path) -> None:
    import hashlib

    store = BlobStore(tmp_path / "blobs")
    data = os.urandom(9 * 1024 * 1024 + 17)  # several chunks and a remainder
    digest = store.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.read_bytes(digest) == data
    assert store.path_for(digest).parent.name == digest[:2]
    assert not (tmp_path / "blobs" / ".staging").exists()
    store.verify(digest)


def test_discarded_staging_leaves_the_store_unchanged(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    store.put_bytes(b"already here")
    before = _snapshot(tmp_path / "blobs")
    with store.staging() as area:
        area.write_bytes(b"never promoted")
    assert _snapshot(tmp_path / "blobs") == before


def test_cancelled_write_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    with pytest.raises(OperationCancelled):
        with store.staging() as area:
            area.write_stream(io.BytesIO(b"x" * (10 * 1024 * 1024)), cancelled=cancelled)
    assert _snapshot(tmp_path / "blobs") == {}


def test_rollback_promotion_removes_only_new_blobs(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    old = store.put_bytes(b"old")
    with store.staging() as area:
        area.write_bytes(b"old")
        new = area.write_bytes(b"new").sha256
        created = area.promote()
        assert created == [new]
        area.rollback_promotion()
    assert store.exists(old) and not store.exists(new)


def test_interrupted_staging_is_cleaned_at_start(tmp_path: Path) -> None:
    from desktop_app.services.context import open_data_folder

    leftover = tmp_path / "data" / "blobs" / ".staging" / "dead"
    leftover.mkdir(parents=True)
    (leftover / "partial").write_bytes(b"half a weights shard")
    ctx = open_data_folder(tmp_path / "data")
    ctx.close()
    assert not leftover.exists()


def test_damaged_blob_is_detected(tmp_path: Path) -> None:
    from desktop_app.domain.errors import IntegrityFailure

    store = BlobStore(tmp_path / "blobs")
    digest = store.put_bytes(b"evidence")
    store.path_for(digest).write_bytes(b"evidencf")
    with pytest.raises(IntegrityFailure):
        store.verify(digest)
