"""The review store: SQLAlchemy 2 models, Alembic migrations and the functions the web app
and the CLI call. SQLite by default, PostgreSQL with a ``postgresql://`` URL."""

from tonewatch.serve.store.db import connect, migrate, session_factory
from tonewatch.serve.store.export import ExportStats, write_reviews
from tonewatch.serve.store.loading import LoadStats, load_pairs, recompute_clients, record_load

__all__ = [
    "ExportStats",
    "LoadStats",
    "connect",
    "load_pairs",
    "migrate",
    "recompute_clients",
    "record_load",
    "session_factory",
    "write_reviews",
]
