"""The composition of one open data folder: engine, sessions, blob store, clock.

`open_data_folder` is what the window, the CLI and the tests call: it creates the folder
layout, migrates the database (after a backup), and removes what an interrupted write
left in blob staging (and any blob it promoted that no committed row refers to).

Workstations that share one PostgreSQL database must share their blobs too: the
`blob_folder` setting (stored in the database, so every workstation reads the same)
names a folder on a shared file system; empty keeps the blobs inside the data folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError

from desktop_app.domain.errors import AccountInactive, InputRejected, PermissionDenied, Problem
from desktop_app.domain.permissions import Actor as Actor  # the one Actor, where the services name it
from desktop_app.domain.types import Role
from desktop_app.infra.paths import DataPaths
from desktop_app.services import audit_anchor
from desktop_app.storage import tables
from desktop_app.storage.blobstore import BlobStore
from desktop_app.storage.database import make_engine
from desktop_app.storage.migrate import upgrade_to_head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("clearance_desk.services")

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SYSTEM_ACTOR = "system"


def current_actor(db: Connection | Session, actor: Actor, *, may: Callable[[Role], bool] | None = None,
                  refusal: str = "") -> Actor:
    """The actor as stored now, read in the caller's transaction.

    A session signed in before an administrator deactivated or demoted the account must
    not keep the powers it had: every change reads the account again where it commits.
    Raises AccountInactive, or PermissionDenied(`refusal`) when `may` refuses the stored role.
    """
    user = tables.users.c
    row = db.execute(select(user.id, user.username, user.role, user.active, user.display_name)
                     .where(user.id == actor.user_id)).first()
    if row is None or not row.active:
        raise AccountInactive()
    stored = Actor(row.id, row.username, Role(row.role), row.display_name)
    if may is not None and not may(stored.role):
        raise PermissionDenied(refusal)
    return stored


@dataclass
class ServiceContext:
    """The open data folder as the services see it.

    Two ways to the database, each for writing and for reading: ORM sessions
    (`transaction`, `reading`) for the services that work with whole records, and Core
    connections (`begin`, `connect`) for the queue, sign-in and settings, which must not
    wait for the ORM to import before the first queue page paints. Writers take the
    write lock either way (see storage.database); readers never do.
    """

    paths: DataPaths
    engine: Engine
    blobs: BlobStore
    clock: Clock = system_clock
    _read_engine: Engine | None = field(default=None, repr=False)
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            from desktop_app.storage.database import make_session_factory

            self._sessions = make_session_factory(self.engine)
        return self._sessions

    @property
    def read_engine(self) -> Engine:
        if self._read_engine is None:
            self._read_engine = make_engine(self.engine.url.render_as_string(hide_password=False), read_only=True)
        return self._read_engine

    @property
    def head_file(self) -> audit_anchor.HeadFile:
        """The audit anchor outside the database: the head after each commit that wrote events."""
        return audit_anchor.HeadFile(self.paths.root / audit_anchor.HEAD_FILE_NAME)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        audit_anchor.forget_committed()
        try:
            with self.sessions() as session, session.begin():
                yield session
            self._note_head()
        finally:
            audit_anchor.forget_committed()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session that never takes the write lock (SQLite's, or PostgreSQL's writer lock)."""
        from sqlalchemy.orm import Session

        with Session(self.read_engine) as session:
            yield session

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """`transaction` for Core: one write transaction on a connection, committed on success."""
        audit_anchor.forget_committed()
        try:
            with self.engine.begin() as conn:
                yield conn
            self._note_head()
        finally:
            audit_anchor.forget_committed()

    def _note_head(self) -> None:
        """After a commit that wrote audit events: append its head to the head file."""
        head = audit_anchor.take_committed()
        if head is None:
            return
        try:
            self.head_file.note(*head)
        except OSError as error:  # the change is committed; a missing note only weakens the anchor
            log.error("could not note the audit head %s in %s: %s", head[0], self.head_file.path, error)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """`reading` for Core: a connection that never takes the write lock."""
        with self.read_engine.connect() as conn:
            yield conn

    def now(self) -> dt.datetime:
        return self.clock()

    def require(self, actor: Actor, may: Callable[[Role], bool], refusal: str, *, attempted: str,
                entity_type: str, entity_id: object) -> Actor:
        """Before a change: the actor as stored now may make it, else the refusal is audited and raised.

        A check ahead of slow work (hashing a package, opening a signing key); the change's
        own transaction checks again with `current_actor`.
        """
        from desktop_app.services import audit

        with self.connect() as conn:
            try:
                return current_actor(conn, actor, may=may, refusal=refusal)
            except PermissionDenied as error:
                refused = error
        audit.record_refusal(self, actor=actor.username, attempted=attempted, entity_type=entity_type,
                             entity_id=entity_id, reason=str(refused))
        raise refused

    def close(self) -> None:
        if self._read_engine is not None and self._read_engine is not self.engine:
            self._read_engine.dispose()
        self.engine.dispose()


def open_data_folder(root: Path, *, db_url: str | None = None, clock: Clock = system_clock,
                     migrate: bool = True) -> ServiceContext:
    paths = DataPaths(Path(root)).ensure()
    engine = make_engine(db_url or paths.sqlite_url())
    audit_anchor.watch(engine)
    if migrate:
        upgrade_to_head(engine, backup_dir=paths.backups)
    try:
        blobs = BlobStore(blob_folder(engine, paths))
        removed = blobs.clean_staging(lambda digests: referenced_blobs(engine, digests))
    except BaseException:
        engine.dispose()
        raise
    if removed:
        log.warning("removed %d interrupted blob staging area(s)", removed)
    return ServiceContext(paths=paths, engine=engine, blobs=blobs, clock=clock)


def blob_folder(engine: Engine, paths: DataPaths) -> Path:
    """The `blob_folder` setting when it is set, else the data folder's own `blobs/`.

    A configured folder must exist: creating it here would hide an unmounted share and
    split the blobs between workstations.
    """
    try:
        with engine.connect() as conn:
            value = conn.execute(select(tables.settings.c.value).where(tables.settings.c.key == "blob_folder")).scalar()
    except DBAPIError:  # not migrated yet (migrate=False on a new database)
        return paths.blobs
    if not value or not str(value).strip():
        return paths.blobs
    folder = Path(str(value).strip()).expanduser()
    if not folder.is_absolute():
        folder = paths.root / folder
    if not folder.is_dir():
        raise InputRejected(Problem("does not exist or is not mounted; Clearance Desk will not create it",
                                    file=str(folder), field="blob_folder setting"))
    return folder


#: Every column that names a blob (settings whose key ends in `_blob` name one too).
_BLOB_COLUMNS = (tables.artifacts.c.sha256, tables.evidence.c.blob_sha256, tables.letters.c.pdf_sha256,
                 tables.packages.c.manifest_blob, tables.condition_evidence.c.blob_sha256)


def referenced_blobs(engine: Engine, digests: Iterable[str]) -> set[str]:
    """Those of `digests` that a committed row refers to."""
    wanted = set(digests)
    if not wanted:
        return set()
    found: set[str] = set()
    try:
        with engine.connect() as conn:
            for column in _BLOB_COLUMNS:
                found.update(conn.execute(select(column).where(column.in_(wanted)).distinct()).scalars())
            for value in conn.execute(select(tables.settings.c.value).where(
                    tables.settings.c.key.like("%\\_blob", escape="\\"))).scalars():
                if value in wanted:
                    found.add(value)
    except DBAPIError:  # no schema to ask: keep everything
        return wanted
    return found
