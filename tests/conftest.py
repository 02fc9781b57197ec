"""Shared fixtures: real databases (SQLite file; PostgreSQL too when one is configured).

``GAPMETER_TEST_POSTGRES_URL`` names a PostgreSQL server database we may connect to (CI uses
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each test session creates its own fresh
database on that server and drops it at the end, so parallel runs never share tables. Without
the variable the PostgreSQL leg is reported as skipped with the reason, never silently passed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

import surveys.models  # noqa: F401 - registers every table on Base
from surveys.db import Base, make_engine

POSTGRES_ENV = "GAPMETER_TEST_POSTGRES_URL"
REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session (dropped afterwards)."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL leg not run: {POSTGRES_ENV} is not set")
    name = f"gapmeter_test_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset(engine: Engine) -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with the current schema, empty: SQLite, and PostgreSQL when configured."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gapmeter.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    _reset(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database with every table (both kinds, as ``db_url``)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for tests about SQLite itself (pragmas, locking)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'gapmeter.db'}")
    _reset(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``shared/reference`` beside the repository (the independent R results)."""
    if not REFERENCE_DIR.is_dir():
        pytest.fail(f"reference data missing: {REFERENCE_DIR}")
    return REFERENCE_DIR
