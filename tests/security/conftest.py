"""Fixtures for the hostile-input and authorisation tests: the web fixtures (an app on SQLite and
PostgreSQL, CSRF on), row counts for "nothing half-stored" checks, and the staff and API
callers every role uses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, func, select

from surveys.db import read_session
from surveys.models import Answer, Response, Role
from tests.webapp.conftest import (  # noqa: F401 - fixtures
    app,
    app_engine,
    client,
    make_app,
    mixed,
    service_quality,
)
from tests.webapp.test_auth_support import add_account, limiter_config, login

#: The hypothesis settings of the normal suite (fast) and of the slow marker.
FAST_EXAMPLES = 60
SLOW_EXAMPLES = 1000
#: The fuzz tests' hypothesis settings (``settings(FUZZ, max_examples=SLOW_EXAMPLES)`` when slow):
#: a real app and database per run, so no deadline and no complaint about slow or big examples.
FUZZ = settings(
    max_examples=FAST_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@dataclass(frozen=True)
class Counts:
    """Rows that hold submitted data."""

    responses: int
    answers: int


def counts(engine: Engine) -> Counts:
    with read_session(engine) as session:
        responses = session.scalar(select(func.count()).select_from(Response)) or 0
        answers = session.scalar(select(func.count()).select_from(Answer)) or 0
    return Counts(int(responses), int(answers))


def signed_in(flask_app: Flask, engine: Engine, role: Role) -> FlaskClient:
    """A client signed in through the real login form as a new account of ``role``."""
    web = flask_app.test_client()
    reply = login(web, add_account(engine, role))
    assert reply.status_code == 303, reply.get_data(as_text=True)[:300]
    return web


@pytest.fixture
def roomy_app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with the API rate limit out of the way (in-memory limits), for fuzzers that send
    hundreds of requests with one key."""
    built = make_app(
        db_url,
        tmp_path,
        **limiter_config("memory"),
        GAPMETER_API_RATE_LIMIT="1000000 per minute",
    )
    yield built
    built.extensions["gapmeter.engine"].dispose()


@pytest.fixture
def roomy_engine(roomy_app: Flask) -> Engine:
    engine: Engine = roomy_app.extensions["gapmeter.engine"]
    return engine
