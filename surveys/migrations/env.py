"""Alembic environment: runs the revisions on the database ``surveys.migrate`` names.

There is no alembic.ini: ``surveys.migrate.alembic_config`` builds the configuration in code and
passes the database URL (or an open connection) in ``config.attributes``. The engine comes from
``surveys.db.make_engine``, so SQLite gets the same pragmas as the application. SQLite cannot
alter most of a table in place, so revisions use batch mode there (``render_as_batch``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

import surveys.models  # noqa: F401 - registers every table on Base.metadata
from surveys.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    url = config.attributes["url"]
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = make_engine(config.attributes["url"], poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
