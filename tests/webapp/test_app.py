"""The app factory, its settings, the per-request session, /health and the error pages."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from surveys.instrument import Instrument
from surveys.models import Segment
from tests.webapp.conftest import SECRET, SurveyClient, add_campaign, make_app
from webapp import BLUEPRINTS, create_app, register_blueprint_package
from webapp.auth.policy import public
from webapp.database import get_session
from webapp.security import redact_tokens
from webapp.settings import SettingsError, settings_from_env


# Settings ------------------------------------------------------------------------------------
def test_defaults_make_a_zero_set_up_instance(tmp_path: Path) -> None:
    """With no variables: SQLite in the instance folder and a generated 0600 secret key that
    the next start reuses."""
    instance = tmp_path / "instance"
    settings = settings_from_env(instance, {})
    assert settings["GAPMETER_DATABASE_URL"] == f"sqlite:///{instance / 'gapmeter.db'}"
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(settings["SECRET_KEY"]) >= 32
    assert settings["SECRET_KEY"] == key_file.read_text().strip()
    assert settings_from_env(instance, {})["SECRET_KEY"] == settings["SECRET_KEY"]
    assert settings["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert settings["TRUSTED_HOSTS"] is None
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["WTF_CSRF_TIME_LIMIT"] is None
    assert settings["GAPMETER_AUTO_MIGRATE"] is True


def test_variables_override_the_defaults(tmp_path: Path) -> None:
    env = {
        "GAPMETER_DATABASE_URL": "postgresql+psycopg://u@db/gapmeter",
        "GAPMETER_SECRET_KEY": "k" * 40,
        "GAPMETER_ORGANISATION": "Northwind",
        "GAPMETER_MAX_CONTENT_LENGTH": "2048",
        "GAPMETER_TRUSTED_HOSTS": "survey.example.com, www.example.com",
        "GAPMETER_SECURE_COOKIES": "true",
        "GAPMETER_PROXY_HOPS": "1",
        "GAPMETER_STAFF_SESSION_HOURS": "8",
    }
    settings = settings_from_env(tmp_path, env)
    assert settings["GAPMETER_DATABASE_URL"] == env["GAPMETER_DATABASE_URL"]
    assert settings["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / "secret_key").exists()
    assert settings["GAPMETER_ORGANISATION"] == "Northwind"
    assert settings["MAX_CONTENT_LENGTH"] == 2048
    assert settings["TRUSTED_HOSTS"] == ["survey.example.com", "www.example.com"]
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_NAME"] == "__Host-session"
    assert settings["GAPMETER_PROXY_HOPS"] == 1
    assert settings["GAPMETER_STAFF_SESSION_HOURS"] == 8
    assert settings["GAPMETER_AUTO_MIGRATE"] is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GAPMETER_SECURE_COOKIES", "maybe", "GAPMETER_SECURE_COOKIES must be"),
        ("GAPMETER_MAX_CONTENT_LENGTH", "1MB", "must be a whole number"),
        ("GAPMETER_MAX_CONTENT_LENGTH", "0", "must be positive"),
        ("GAPMETER_PROXY_HOPS", "-1", "must be 0 or more"),
        ("GAPMETER_STAFF_SESSION_HOURS", "0", "must be positive"),
    ],
)
def test_bad_values_are_refused_by_name(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_from_env(tmp_path, {"GAPMETER_SECRET_KEY": "k" * 40, name: value})


def test_a_short_stored_secret_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(SettingsError, match="shorter than 32"):
        settings_from_env(tmp_path, {})


# Factory -------------------------------------------------------------------------------------
def test_factory_registers_present_blueprints_and_skips_absent_ones(app: Flask) -> None:
    assert "respond" in app.blueprints
    assert "health" in app.blueprints
    assert BLUEPRINTS[0] == "webapp.respond"
    assert register_blueprint_package(app, "webapp.no_such_area") is False
    assert app.config["GAPMETER_DATABASE_URL"].startswith(("sqlite", "postgresql"))
    assert "gapmeter.engine" in app.extensions
    assert "gapmeter.sessionmaker" in app.extensions


def test_auto_migrate_prepares_an_empty_sqlite_database(tmp_path: Path, mixed: Instrument) -> None:
    """Zero set-up: with the defaults a fresh instance folder gets the schema and the default
    taxonomy at start, and a survey can be answered right away."""
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET, "TESTING": True})
    engine = app.extensions["gapmeter.engine"]
    assert app.config["GAPMETER_DATABASE_URL"] == f"sqlite:///{instance / 'gapmeter.db'}"
    with Session(engine) as session:
        assert session.get(Segment, "consumer") is not None
    key = add_campaign(engine, mixed)
    assert SurveyClient(app.test_client()).open_survey(f"/s/{key}").status == 200
    again = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET})  # idempotent
    again.extensions["gapmeter.engine"].dispose()
    engine.dispose()


def test_one_session_per_request_closed_at_teardown(app: Flask) -> None:
    with app.test_request_context():
        first = get_session()
        assert get_session() is first
    with app.test_request_context():
        assert get_session() is not first


# /health -------------------------------------------------------------------------------------
def test_health_checks_the_database(app: Flask) -> None:
    reply = app.test_client().get("/health")
    assert reply.status_code == 200
    assert reply.json == {"status": "ok", "database": "ok"}


def test_health_is_503_when_the_database_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'x.db'}"
    app = make_app(url, tmp_path)
    with caplog.at_level(logging.ERROR):
        reply = app.test_client().get("/health")
    assert reply.status_code == 503
    assert reply.json == {"status": "unavailable", "database": "unavailable"}
    app.extensions["gapmeter.engine"].dispose()


# Error pages ---------------------------------------------------------------------------------
def test_error_pages_for_people_and_json_for_clients(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "There is nothing at this address" in page.get_data(as_text=True)
    data = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert data.status_code == 404
    assert data.json == {
        "error": "Not found",
        "status": 404,
        "message": "There is nothing at this address. Check the link and try again.",
    }
    wrong_method = client.delete("/health")
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert "does not accept" in wrong_method.get_data(as_text=True)


def test_too_large_bodies_get_413(app: Flask, app_engine: Engine, mixed: Instrument) -> None:
    """A body over MAX_CONTENT_LENGTH is refused before CSRF or the view reads it."""
    key = add_campaign(app_engine, mixed)
    reply = app.test_client().post(f"/s/{key}", data={"comment": "x" * (1024 * 1024 + 10)})
    assert reply.status_code == 413
    assert "larger than this site accepts" in reply.get_data(as_text=True)


def test_unexpected_errors_roll_back_and_show_the_500_page(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Does an exception in a view roll back what the request wrote and show a calm 500?"""
    app = make_app(db_url, tmp_path, TESTING=False)

    @app.get("/boom")
    @public
    def boom() -> str:
        session = get_session()
        session.add(Segment(key="half-written", label="half written"))
        session.flush()
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR):
        reply = app.test_client().get("/boom")
    assert reply.status_code == 500
    assert "Nothing was saved" in reply.get_data(as_text=True)
    assert "boom" not in reply.get_data(as_text=True)
    json_reply = app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert json_reply.status_code == 500
    assert json_reply.json["status"] == 500
    engine = app.extensions["gapmeter.engine"]
    with Session(engine) as session:
        assert session.scalar(select(Segment).where(Segment.key == "half-written")) is None
    engine.dispose()


def test_untrusted_host_is_refused(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path, TRUSTED_HOSTS=["survey.example.com"])
    client = app.test_client()
    assert client.get("/health", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/health", headers={"Host": "survey.example.com"}).status_code == 200
    app.extensions["gapmeter.engine"].dispose()


def test_invitation_tokens_are_redacted_from_logs(tmp_path: Path) -> None:
    """Access lines (args) and Flask's exception line (message) lose the token (P6)."""
    access = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - "%s" %s',
        ("127.0.0.1", "GET /i/Secr3t-T0ken?lang=en HTTP/1.1", "303"),
        None,
    )
    assert redact_tokens(access)
    assert "Secr3t" not in access.getMessage()
    assert "GET /i/<token>?lang=en HTTP/1.1" in access.getMessage()
    crash = logging.LogRecord(
        "webapp", logging.ERROR, __file__, 1, "Exception on /i/Secr3t-T0ken [GET]", None, None
    )
    assert redact_tokens(crash)
    assert crash.getMessage() == "Exception on /i/<token> [GET]"
    app = make_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert redact_tokens in app.logger.filters
    assert redact_tokens in logging.getLogger("werkzeug").filters


def test_session_cookie_holds_no_answers(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Answers travel in the page, not the cookie: the cookie stays small across pages."""
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    page = client.post(page, {name: values[0] for name, values in page.radios.items()})
    cookie = client.client.get_cookie("session")
    assert cookie is not None
    assert len(cookie.value) < 200
