"""Alembic environment: uses the connection handed in by desktop_app.storage.migrate."""

from __future__ import annotations

from alembic import context

from desktop_app.storage import models  # noqa: F401  (every model registers its table)
from desktop_app.storage.migrate import include_object
from desktop_app.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when run from the alembic CLI
    from desktop_app.storage.database import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
