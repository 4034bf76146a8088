"""Persistence: SQLAlchemy models, engine and sessions, repositories, blob store, migrations."""
