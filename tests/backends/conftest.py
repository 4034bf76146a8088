"""The `backend` parameter: every test in this folder runs on SQLite and on PostgreSQL.

The PostgreSQL half is marked `postgres` and skipped, saying why, only when
CLEARANCE_DESK_TEST_PG_URL is unset; CI sets it (.ci/run starts a throw-away cluster
with scripts/pg-test-cluster.sh). `-m postgres` or `-m "not postgres"` picks one half.

`ctx` and `people` here override the root conftest's: the same services and the same
people, on the test's backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.services.context import Actor, ServiceContext, open_data_folder

from .support import PG_URL_ENV, Database, PgServer, add_people, copy_folder, people_of


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.fail(f"{PG_URL_ENV} is not set: run the suite with `bash scripts/test.sh`, which starts PostgreSQL",
                    pytrace=False)
    server = PgServer(url)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template") / "data"
    ctx = open_data_folder(folder)
    try:
        add_people(ctx)
    finally:
        ctx.close()
    return folder


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    name = pg_server.create("template")
    ctx = open_data_folder(tmp_path_factory.mktemp("pg-template"), db_url=pg_server.url_of(name))
    try:
        add_people(ctx)
    finally:
        ctx.close()
    return name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated database with the people in it, this test's alone."""
    data_dir = tmp_path / "data"
    if backend == "sqlite":
        yield Database("sqlite", copy_folder(request.getfixturevalue("sqlite_template"), data_dir))
        return
    server: PgServer = request.getfixturevalue("pg_server")
    template: str = request.getfixturevalue("pg_template")
    name = server.create(uuid.uuid4().hex[:10], template=template)
    data_dir.mkdir()
    try:
        yield Database("postgres", data_dir, server.url_of(name))
    finally:
        server.drop(name)


@pytest.fixture
def ctx(database: Database, clock) -> Iterator[ServiceContext]:  # noqa: ANN001
    context = database.open(clock=clock)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def people(ctx: ServiceContext) -> dict[str, Actor]:
    return people_of(ctx)
