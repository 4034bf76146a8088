"""The composition of one open data folder: engine, sessions, blob store, clock.

`open_data_folder` is what the window, the CLI and the tests call: it creates the folder
layout, migrates the database (after a backup), and removes what an interrupted write
left in blob staging.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from desktop_app.domain.types import Role
from desktop_app.infra.paths import DataPaths
from desktop_app.storage.blobstore import BlobStore
from desktop_app.storage.database import make_engine, make_session_factory
from desktop_app.storage.migrate import upgrade_to_head

log = logging.getLogger("clearance_desk.services")

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Actor:
    """Who is acting: the signed-in user, as the services see them."""

    user_id: int
    username: str
    role: Role
    display_name: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.username


SYSTEM_ACTOR = "system"


@dataclass
class ServiceContext:
    paths: DataPaths
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    clock: Clock = system_clock
    _read_engine: Engine | None = field(default=None, repr=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session that never takes the write lock."""
        if self._read_engine is None:
            self._read_engine = (
                make_engine(str(self.engine.url), read_only=True)
                if self.engine.dialect.name == "sqlite"
                else self.engine
            )
        with Session(self._read_engine) as session:
            yield session

    def now(self) -> dt.datetime:
        return self.clock()

    def close(self) -> None:
        if self._read_engine is not None and self._read_engine is not self.engine:
            self._read_engine.dispose()
        self.engine.dispose()


def open_data_folder(root: Path, *, db_url: str | None = None, clock: Clock = system_clock,
                     migrate: bool = True) -> ServiceContext:
    paths = DataPaths(Path(root)).ensure()
    engine = make_engine(db_url or paths.sqlite_url())
    if migrate:
        upgrade_to_head(engine, backup_dir=paths.backups)
    blobs = BlobStore(paths.blobs)
    removed = blobs.clean_staging()
    if removed:
        log.warning("removed %d interrupted blob staging area(s)", removed)
    return ServiceContext(paths=paths, engine=engine, sessions=make_session_factory(engine), blobs=blobs, clock=clock)
