"""Bring a database to the current schema, backing up an existing SQLite file first."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

log = logging.getLogger("clearance_desk.storage")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


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
    current = current_revision(engine)
    if current == head_revision():
        return False
    database = engine.url.database
    if current is not None and backup_dir is not None and engine.dialect.name == "sqlite" and database:
        path = backup_sqlite_file(Path(database), backup_dir, f"pre-migrate-{current}")
        log.info("backed up database to %s before migrating from %s", path, current)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    log.info("database migrated to %s", head_revision())
    return True
