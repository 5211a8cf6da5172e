"""Alembic environment of the review store.

``tonewatch serve`` and ``tonewatch load`` run ``upgrade head`` in-process
(``tonewatch.serve.store.db.migrate``) and hand their connection over in
``config.attributes["connection"]``. Without one, the URL comes from ``-x db=URL`` or the
``sqlalchemy.url`` option. A new revision, after changing ``store/models.py``:

    command.revision(alembic_config(connection), message="...", autogenerate=True)

(``tonewatch.serve.store.db.alembic_config``); tests/serve/test_migrations.py fails while
the models and the migrations differ.
"""

from __future__ import annotations

from alembic import context

from tonewatch.serve.store.db import connect
from tonewatch.serve.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection) -> None:  # noqa: ANN001 (SQLAlchemy Connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE support on SQLite
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database: alembic -x db=sqlite:///tonewatch.db upgrade head")
    engine = connect(url)
    with engine.begin() as connection:
        _configure_and_run(connection)
    engine.dispose()


def run_migrations_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option(
        "sqlalchemy.url"
    )
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
