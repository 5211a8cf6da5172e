"""The Alembic migrations build exactly the schema of the models, on SQLite and PostgreSQL,
and downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tonewatch.serve.store import migrate
from tonewatch.serve.store.db import alembic_config
from tonewatch.serve.store.models import Base


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_match_the_models(engine) -> None:
    assert _differences(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_migrations_downgrade_and_upgrade_again(engine) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert _differences(engine) == []
