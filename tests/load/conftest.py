"""Fixtures of the load and fault runs: a real gunicorn server on a fresh database.

``live`` runs on SQLite (WAL) and on PostgreSQL; the PostgreSQL leg needs
``GAPMETER_TEST_POSTGRES_URL`` (a server database we may connect to, as in tests/conftest.py)
and is skipped with that reason otherwise. Each test gets its own database: a new SQLite file,
or a new database on the PostgreSQL server, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from surveys.db import make_engine
from surveys.instrument import Instrument
from tests.conftest import POSTGRES_ENV
from tests.load.live import LiveServer, SurveySetup, prepare
from tests.webapp.conftest import library_instrument


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the configured PostgreSQL server, dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL leg not run: {POSTGRES_ENV} is not set")
    name = f"gapmeter_load_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """An empty database (no tables yet): a SQLite file, or one on the PostgreSQL server."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'load.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def live_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Live:
    """A running server, the survey set up on its database, and an engine to audit it."""

    server: LiveServer
    setup: SurveySetup
    engine: Engine
    instrument: Instrument


@pytest.fixture(scope="session")
def service_quality_instrument() -> Instrument:
    return library_instrument("service-quality.yaml")


@contextmanager
def live_server(
    db_url: str, instance: Path, instrument: Instrument, *, app_db_url: str | None = None
) -> Iterator[Live]:
    """gunicorn (2 workers) serving the survey set up on ``db_url``, ready on /health; the app
    may reach the database through another address (``app_db_url``, e.g. a proxy)."""
    setup = prepare(db_url, tokens=5)
    server = LiveServer(app_db_url or db_url, instance)
    engine = make_engine(db_url)
    try:
        server.start()
        yield Live(server, setup, engine, instrument)
    finally:
        server.stop()
        engine.dispose()


@pytest.fixture
def live(
    live_db_url: str, tmp_path: Path, service_quality_instrument: Instrument
) -> Iterator[Live]:
    """The live server on a fresh SQLite and (when configured) PostgreSQL database."""
    with live_server(live_db_url, tmp_path / "instance", service_quality_instrument) as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_live(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    service_quality_instrument: Instrument,
) -> Iterator[Live]:
    """One live server for a module's tests (each uses its own tokens or keys): a gunicorn
    start costs seconds, and the contention tests do not disturb each other's rows."""
    directory = tmp_path_factory.mktemp(f"live-{request.param}")
    with (
        fresh_database(request.param, directory) as url,
        live_server(url, directory / "instance", service_quality_instrument) as server,
    ):
        yield server
