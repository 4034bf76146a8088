"""Every earlier revision, with data in it, upgrades to head (a data folder is never stranded).

A fresh upgrade runs every migration on empty tables, where SQLite's table rebuilds
(`batch_alter_table`: copy, DROP TABLE, rename) cannot trip a foreign key. A folder made
by an earlier release has rows, e.g. conditions that name letters; then DROP TABLE
letters fails with "FOREIGN KEY constraint failed" unless the upgrade runs with foreign
keys off and checks them once at the end. So each case here stops at an earlier
revision, puts two rows in every table (every foreign key pointing at a real row), and
upgrades to head the way the app does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from desktop_app.storage.database import make_engine
from desktop_app.storage.migrate import (
    UNMODELLED_TABLE_PREFIX,
    alembic_config,
    current_revision,
    head_revision,
    include_object,
    upgrade_to_head,
)
from desktop_app.storage.models import Base

ROWS_PER_TABLE = 2
#: Plausible values where a column's name says what it holds (the rest get typed filler).
NAMED_VALUES = {
    "reference": lambda i: f"CD-2026-{i:04d}",
    "number": lambda i: i,
    "state": lambda i: "IN_REVIEW",
    "role": lambda i: "reviewer",
    "severity": lambda i: "high",
    "status": lambda i: "open",
    "decision": lambda i: "cleared",
    "kind": lambda i: "clearance",
}


def _earlier_revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions())) if r.revision != script.get_current_head()]


def _filler(column: sa.Column, table: sa.Table, row: int) -> object:  # type: ignore[type-arg]
    """A value for `column` in row number `row` (1-based): foreign keys point at row `row` of their table."""
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column.table
        if target is table and row == 1:  # the first row of a self-reference has nothing earlier to name
            return None
        return row if target is not table else row - 1
    if column.primary_key and isinstance(column.type, sa.Integer):
        return row
    if column.name in NAMED_VALUES:
        return NAMED_VALUES[column.name](row)
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return row
    if isinstance(kind, sa.Float | sa.Numeric):
        return float(row)
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 3, row, 9, 30, tzinfo=dt.UTC)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 4, row)
    if isinstance(kind, sa.LargeBinary):
        return b"\x30\x03" * row
    if isinstance(kind, sa.JSON):
        return {}
    length = getattr(kind, "length", None) or 64
    return f"{table.name[:length - 4]}-{row}"[:length] if length < 64 else f"{table.name}.{column.name} {row}"


def _populate(engine: sa.Engine) -> dict[str, int]:
    """Two rows in every table the schema has at this revision; returns the row counts."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    tables = [t for t in metadata.sorted_tables
              if t.name != "alembic_version" and not t.name.startswith(UNMODELLED_TABLE_PREFIX)]
    with engine.begin() as conn:
        for table in tables:
            writable = [c for c in table.columns if c.computed is None]
            for row in range(1, ROWS_PER_TABLE + 1):
                conn.execute(table.insert().values({c.name: _filler(c, table, row) for c in writable}))
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables}
    return counts


@pytest.mark.parametrize("revision", _earlier_revisions())
def test_a_populated_folder_upgrades_from_every_earlier_revision(tmp_path: Path, revision: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    counts = _populate(engine)
    assert counts and all(count == ROWS_PER_TABLE for count in counts.values())

    assert upgrade_to_head(engine, backup_dir=tmp_path / "backups") is True

    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again for the app
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        for name, count in counts.items():  # no table lost or emptied a row on the way
            assert conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar() == count, name
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}), Base.metadata)
    assert diff == []
    assert list((tmp_path / "backups").glob(f"*pre-migrate-{revision}*.sqlite3"))


def test_an_upgrade_that_would_leave_a_dangling_reference_is_refused(tmp_path: Path) -> None:
    """Foreign keys are off only while migrating: rows that point nowhere roll the whole upgrade back."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    config = alembic_config()
    earliest_with_conditions = "0004_i17b"
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, earliest_with_conditions)
    _populate(engine)
    raw = engine.raw_connection()  # a damaged folder: a condition naming a letter that is not there
    try:
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("UPDATE conditions SET letter_id = 99 WHERE id = 1")
    finally:
        raw.close()
    engine.dispose()

    with pytest.raises(Exception, match="conditions"):
        upgrade_to_head(engine, backup_dir=tmp_path / "backups")
    assert current_revision(engine) == earliest_with_conditions


def test_a_locked_database_is_raised_at_once_not_taken_for_a_new_one(tmp_path: Path) -> None:
    """The quick revision check re-raises a lock held elsewhere; taking it for "no version table"
    made the CLI wait out the 15 s busy timeout twice before its one-line error."""
    import sqlite3

    from desktop_app.storage.migrate import _stored_revision

    path = tmp_path / "locked.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE alembic_version (version_num TEXT)")
        setup.execute("INSERT INTO alembic_version VALUES ('0001')")
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    assert _stored_revision(engine) == "0001"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            _stored_revision(engine)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
    empty = sa.create_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert _stored_revision(empty) is None  # no version table yet: a new database
    empty.dispose()
