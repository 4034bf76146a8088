"""Engine and session set-up. Engines are made by a function from a URL, never at import.

Every SQLite connection gets WAL, foreign keys and synchronous=FULL, and a busy timeout
so two processes on one file wait for each other instead of failing at once.

The services are written for one writer at a time: a transaction reads, checks and
writes, and nothing may change in between. SQLite gives that with BEGIN IMMEDIATE.
On PostgreSQL a writer's transaction takes one transaction-scoped advisory lock first,
which gives the same guarantee to every workstation sharing the database (reads made
under READ COMMITTED after the lock see every earlier writer's commit); readers use a
separate engine without it and are never blocked, as with SQLite's WAL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=15000",
)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions lazily and would hide BEGIN from us; we issue
    # BEGIN IMMEDIATE ourselves (see _begin_immediate) so writers serialise up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


#: The PostgreSQL advisory lock every writing transaction holds until it ends.
WRITER_LOCK_KEY = 7_420_000
#: How long a PostgreSQL writer waits for the lock (or any row lock) before failing.
PG_LOCK_TIMEOUT = "30s"


def _pg_take_writer_lock(conn: Any) -> None:
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False, read_only: bool = False) -> Engine:
    """Create the engine for a database URL (SQLite file or PostgreSQL).

    On SQLite, writers take the write lock when their transaction begins (BEGIN
    IMMEDIATE) so read-then-write units such as the audit append never fail halfway;
    `read_only` engines (the queue's pages) begin deferred and never block writers.
    On PostgreSQL, writers take the writer lock (see the module docstring) instead.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin_deferred if read_only else _begin_immediate)
        return engine
    if url.startswith("postgresql") and not read_only:
        engine = create_engine(url, echo=echo, pool_pre_ping=True,
                               connect_args={"options": f"-c lock_timeout={PG_LOCK_TIMEOUT}"})
        event.listen(engine, "begin", _pg_take_writer_lock)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """ORM sessions over the engine (the ORM is imported here, on first use, not at start)."""
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)
