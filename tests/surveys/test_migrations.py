"""The Alembic revisions build exactly the schema of ``surveys.models``: this fails whenever a
model changes without a migration. Runs on an empty SQLite and an emptied PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, inspect, text

import surveys.models
from surveys.db import Base, make_engine
from surveys.migrate import (
    MIGRATIONS_DIR,
    UnversionedDatabaseError,
    current,
    downgrade,
    head,
    stamp,
    upgrade,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all. The PostgreSQL one is the session's test database,
    emptied; later tests recreate their tables anyway."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    yield url
    _empty_postgres(url)


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def differences(url: str, metadata: MetaData = Base.metadata) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrading_an_empty_database_gives_exactly_the_models(empty_url: str) -> None:
    assert current(empty_url) is None

    upgrade(empty_url)

    assert current(empty_url) == head()
    assert tables(empty_url) == {*Base.metadata.tables, "alembic_version"}
    assert differences(empty_url) == []


def test_a_model_without_a_migration_is_noticed(empty_url: str) -> None:
    """The comparison above can fail: a table only the models have is reported."""
    upgrade(empty_url)
    models = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(models)
    Table("new_model", models, Column("id", Integer, primary_key=True))

    found = differences(empty_url, models)

    assert [(kind, table.name) for kind, table in found] == [("add_table", "new_model")]  # type: ignore[misc]


def test_downgrading_to_base_removes_every_table_and_upgrading_again_works(
    empty_url: str,
) -> None:
    upgrade(empty_url)

    downgrade(empty_url, "base")
    assert tables(empty_url) == {"alembic_version"}
    assert current(empty_url) is None

    upgrade(empty_url)
    assert differences(empty_url) == []


def test_upgrading_twice_changes_nothing(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    assert current(empty_url) == head()


def test_tables_without_a_migration_history_are_refused_not_migrated(empty_url: str) -> None:
    engine = make_engine(empty_url)
    Base.metadata.create_all(engine)
    engine.dispose()

    with pytest.raises(UnversionedDatabaseError, match="no migration history"):
        upgrade(empty_url)

    stamp(empty_url)
    assert current(empty_url) == head()
    upgrade(empty_url)
    assert differences(empty_url) == []


def test_the_migrations_ship_inside_the_package() -> None:
    """A non-editable install finds them: they live in the ``surveys`` package, not the repo."""
    assert MIGRATIONS_DIR.parent == Path(surveys.models.__file__).resolve().parents[1]
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
