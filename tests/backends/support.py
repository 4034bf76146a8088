"""One database per test on either backend, made from a session template.

SQLite: a data folder holding a migrated database with the people in it, copied per
test. PostgreSQL: a database on the server named by CLEARANCE_DESK_TEST_PG_URL (the
throw-away cluster of scripts/pg-test-cluster.sh in CI), migrated and peopled once per
session and cloned per test with CREATE DATABASE … TEMPLATE, which takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from team_support import add_team
from desktop_app.services.context import Actor, ServiceContext, open_data_folder
from desktop_app.services.users import UserService

PG_URL_ENV = "CLEARANCE_DESK_TEST_PG_URL"
PASSWORD = "correct horse battery staple 7"
BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Database:
    """Where one test's data lives: the data folder, and the URL when it is not the folder's SQLite."""

    backend: str
    data_dir: Path
    url: str | None = None

    def open(self, **kwargs: object) -> ServiceContext:
        return open_data_folder(self.data_dir, db_url=self.url, **kwargs)  # type: ignore[arg-type]

    def cli_args(self) -> list[str]:
        """--data-dir and, for PostgreSQL, --db-url: what a second process needs to open the same data."""
        return ["--data-dir", str(self.data_dir), *(["--db-url", self.url] if self.url else [])]


def add_people(ctx: ServiceContext) -> None:
    add_team(ctx, password=PASSWORD)


def people_of(ctx: ServiceContext) -> dict[str, Actor]:
    """Everyone, signed in without hashing passwords again."""
    return {info.username: Actor(info.id, info.username, info.role, info.display_name)
            for info in UserService(ctx).list_users()}


class PgServer:
    """Creates and drops test databases on the server CLEARANCE_DESK_TEST_PG_URL names."""

    def __init__(self, url: str) -> None:
        self.url: URL = make_url(url)
        self.prefix = f"cdtest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                                   poolclass=NullPool)
        self.created: list[str] = []

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, label: str, *, template: str | None = None) -> str:
        name = f"{self.prefix}_{label}"[:63]
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in reversed(list(self.created)):
            self.drop(name)
        self.admin.dispose()


def copy_folder(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target
