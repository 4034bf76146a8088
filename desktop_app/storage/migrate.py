"""Bring a database to the current schema, backing up an existing SQLite file first.

Alembic is imported only when a migration may be due: at an ordinary start the stored
revision is compared with the head read from the version files' own `revision =` lines,
which saves the ~150 ms that importing Alembic (and Mako, and Pygments) costs before
the window can paint.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from desktop_app.domain.errors import IntegrityFailure

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("clearance_desk.storage")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Tables the migrations create outside the models: the FTS5 search table and its
#: shadow tables (queue_search_data, _idx, _content, _docsize, _config).
UNMODELLED_TABLE_PREFIX = "queue_search"
#: Indices migration 0003 adds on PostgreSQL only: (sort column, id), the tie-break that a
#: SQLite index carries implicitly in its rowid.
UNMODELLED_INDEX_PREFIX = "ix_pg_"


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate filter: leave the search tables and the PostgreSQL-only indices alone (no model describes them)."""
    unmodelled = {"table": UNMODELLED_TABLE_PREFIX, "index": UNMODELLED_INDEX_PREFIX}.get(type_)
    return not (unmodelled and reflected and compare_to is None and (name or "").startswith(unmodelled))


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def head_from_files() -> str | None:
    """The head revision from the version files' text, or None when that is not clear-cut."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for kind, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (revisions if kind == "revision" else parents).add(value)
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


#: Errors that mean "someone else holds the database", not "there is no version table yet".
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_PG_LOCK_NOT_AVAILABLE = "55P03"


def _stored_revision(engine: Engine) -> str | None:
    """The revision in `alembic_version`, or None when it cannot be read (a new database).

    A lock held elsewhere is raised at once: asking Alembic next would wait out the busy
    timeout a second time before saying the same.
    """
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except DBAPIError as error:
        if (getattr(error.orig, "sqlite_errorname", None) in _BUSY
                or getattr(error.orig, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE):
            raise
        return None


def backup_sqlite_file(database: Path, backups: Path, label: str) -> Path:
    """Copy a SQLite database through the online backup API (never a file copy)."""
    backups.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backups / f"{database.stem}-{label}-{stamp}.sqlite3"
    source = sqlite3.connect(database)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
    return target


def upgrade_to_head(engine: Engine, *, backup_dir: Path | None = None) -> bool:
    """Apply pending migrations; returns True if any ran.

    An existing SQLite database with pending migrations is backed up first so a failed
    or unwanted upgrade can be undone by restoring that file.
    """
    quick_head = head_from_files()
    if quick_head is not None and _stored_revision(engine) == quick_head:
        return False
    from alembic import command

    current = current_revision(engine)
    if current == head_revision():
        return False
    database = engine.url.database
    if current is not None and backup_dir is not None and engine.dialect.name == "sqlite" and database:
        path = backup_sqlite_file(Path(database), backup_dir, f"pre-migrate-{current}")
        log.info("backed up database to %s before migrating from %s", path, current)
    config = alembic_config()
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(conn, on=False)
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                if sqlite:
                    _refuse_dangling_references(conn, database or "the database")
        finally:
            if sqlite:
                _sqlite_foreign_keys(conn, on=True)
    log.info("database migrated to %s", head_revision())
    return True


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign-key enforcement, outside any transaction (inside one the pragma is ignored).

    A migration that rebuilds a table (`batch_alter_table`: copy, DROP TABLE, rename) must
    run with enforcement off, or DROP TABLE fails as soon as another table's rows name the
    old one (SQLite's documented ALTER TABLE procedure); `_refuse_dangling_references`
    checks every reference once at the end instead.
    """
    conn.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")  # type: ignore[union-attr]


def _refuse_dangling_references(conn: Connection, database: str) -> None:
    """Raise (rolling the whole upgrade back) if any row names a row that is not there."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        where = "; ".join(f"{table} row {rowid} names a missing {parent} row" for table, rowid, parent, _fk in broken[:5])
        more = f" and {len(broken) - 5} more" if len(broken) > 5 else ""
        raise IntegrityFailure(f"{database}: not migrated, the upgrade would leave {where}{more}; "
                               "the database is unchanged")
