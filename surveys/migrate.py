"""Schema migrations (Alembic), configured in code so an installed package finds its revisions.

``gapmeter db upgrade`` and the app's start-up (``GAPMETER_AUTO_MIGRATE``) call ``upgrade``.
A model change needs a new revision in ``surveys/migrations/versions``; write it with::

    python -c "from surveys.migrate import revision; revision('add x', 'sqlite:///scratch.db')"

against a scratch database at head (autogenerate), then read and correct it.
tests/surveys/test_migrations.py fails while the models and the revisions disagree.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.pool import NullPool

import surveys.models  # noqa: F401 - registers every table on Base.metadata
from surveys.db import Base, make_engine
from surveys.errors import SurveysError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the database at ``url`` (no ini file involved)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


class UnversionedDatabaseError(SurveysError):
    """Tables exist but Alembic has no record of them, so no revision can safely run."""


def upgrade(url: str, target: str = "head") -> None:
    """Bring the database at ``url`` to revision ``target`` (the latest by default); an empty
    database gets the whole schema. A database with Gapmeter tables but no migration history is
    refused (``UnversionedDatabaseError``) rather than half-migrated."""
    if current(url) is None:
        engine = make_engine(url, poolclass=NullPool)
        try:
            found = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
        finally:
            engine.dispose()
        if found:
            raise UnversionedDatabaseError(
                f"the database has Gapmeter tables ({', '.join(sorted(found)[:3])}...) but no "
                "migration history, so it was not made by 'gapmeter db upgrade'; start from an "
                "empty database, or, if its schema is exactly the current one, record that with "
                "surveys.migrate.stamp(url)"
            )
    command.upgrade(alembic_config(url), target)


def stamp(url: str, target: str = "head") -> None:
    """Record that the database is at ``target`` without running anything (for a database
    built by ``Base.metadata.create_all`` with exactly the models' schema)."""
    command.stamp(alembic_config(url), target)


def downgrade(url: str, target: str) -> None:
    """Take the database back to revision ``target`` (``base`` drops every table)."""
    command.downgrade(alembic_config(url), target)


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at; None when it has none (empty, or never
    migrated)."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision shipped with this version of Gapmeter."""
    found = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if found is None:
        raise RuntimeError(f"no migration revisions in {MIGRATIONS_DIR}")
    return found


def revision(message: str, url: str) -> None:
    """Write a new revision file from the difference between the models and the database at
    ``url`` (a developer's tool; review the file before committing it)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
