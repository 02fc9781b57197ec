"""Signing in and out: throttling, enumeration-safe errors, revocable sessions, safe redirects,
cookies, one-time passwords and the CLI (security.md S11, S13, S15, S20, P6)."""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from surveys.db import read_session, write_session
from surveys.models import AuditEntry, Role, User
from surveys.services import accounts
from tests.webapp.conftest import make_app
from tests.webapp.test_auth_support import (
    PASSWORD,
    add_account,
    add_api_key,
    csrf_token,
    limiter_storage,  # noqa: F401 - fixture
    login,
    session_cookie,
)
from webapp.auth.commands import apikey, create_demo_accounts, user
from webapp.auth.routes import LOCKED, WRONG_CREDENTIALS, safe_next
from webapp.auth.sessions import SIGNED_IN_AT
from webapp.security import CONTENT_SECURITY_POLICY


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def audit_actions(engine: Engine) -> list[tuple[str, str | None, dict[str, Any]]]:
    with read_session(engine) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(row.action, row.subject, row.detail) for row in rows]


# Signing in -----------------------------------------------------------------------------------
def test_the_login_page_keeps_to_the_headers(web: FlaskClient) -> None:
    reply = web.get("/login")
    assert reply.status_code == 200
    assert reply.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert reply.headers["Cache-Control"] == "no-store"
    page = reply.get_data(as_text=True)
    assert "<script" not in page
    assert "style=" not in page
    assert 'autocomplete="current-password"' in page


def test_sign_in_starts_a_fresh_session_and_lands_on_the_account(
    web: FlaskClient, app_engine: Engine
) -> None:
    """S13: nothing planted in the session before sign-in survives it; the cookie changes."""
    email = add_account(app_engine, Role.RESEARCHER)
    with web.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = session_cookie(web)
    reply = login(web, email)
    assert reply.status_code == 303
    assert reply.headers["Location"] == "/account"
    assert session_cookie(web) != before
    with web.session_transaction() as session:
        assert "planted" not in session
    account = web.get("/account")
    assert account.status_code == 200
    assert email in account.get_data(as_text=True)
    assert account.headers["Cache-Control"] == "no-store"
    with read_session(app_engine) as session:
        row = session.scalar(select(User).where(User.email == email))
        assert row is not None
        assert row.last_login_at is not None


def test_unknown_address_and_wrong_password_look_the_same(
    web: FlaskClient, app_engine: Engine
) -> None:
    """S11: the same status and message, and no account name in the reply."""
    email = add_account(app_engine, Role.MANAGER)
    wrong = login(web, email, "not the password at all")
    unknown = login(web, "nobody@example.com", "not the password at all")
    malformed = login(web, "not an address", "not the password at all")
    for reply in (wrong, unknown, malformed):
        assert reply.status_code == 200
        page = reply.get_data(as_text=True)
        assert WRONG_CREDENTIALS in page
        assert "not the password at all" not in page
    assert web.get("/account").status_code == 303  # still signed out
    reasons = [detail.get("reason") for action, _, detail in audit_actions(app_engine)]
    assert reasons[-3:] == ["password", "unknown", "unknown"]


def test_unknown_and_known_addresses_take_the_same_time(db_url: str, tmp_path: Path) -> None:
    """S11: both hash once, so the medians of interleaved attempts stay close."""
    app = make_app(db_url, tmp_path, GAPMETER_LOGIN_FAILURES="1000 per minute")
    engine = app.extensions["gapmeter.engine"]
    web = app.test_client()
    email = add_account(engine, Role.MANAGER)
    token = csrf_token(web)
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for attempt in range(16):
        for kind, address in (("known", email), ("unknown", f"ghost{attempt}@example.com")):
            data = {"csrf_token": token, "email": address, "password": "x" * 12}
            started = time.perf_counter()
            web.post("/login", data=data)
            timings[kind].append(time.perf_counter() - started)
    known, unknown = (statistics.median(timings[kind]) for kind in ("known", "unknown"))
    assert 0.6 < known / unknown < 1.6, timings
    engine.dispose()


def test_failed_sign_ins_lock_the_account_whatever_the_ip(
    db_url: str,
    tmp_path: Path,
    limiter_storage: dict[str, Any],  # noqa: F811
) -> None:
    """S11: after the limit of failures (each from another spoofed X-Forwarded-For) even the
    right password is refused with 429, an unknown address locks the same way, the lock
    outlasts the failure window, and while locked no password is hashed or audited."""
    app = make_app(
        db_url,
        tmp_path,
        GAPMETER_LOGIN_FAILURES="3 per 1 second",
        GAPMETER_LOGIN_LOCK="1 per 3 seconds",
        **limiter_storage,
    )
    engine = app.extensions["gapmeter.engine"]
    web = app.test_client()
    email = add_account(engine, Role.RESEARCHER)
    for attempt in range(3):
        forwarded = {"X-Forwarded-For": f"203.0.113.{attempt}"}
        assert login(web, email, "wrong password!", headers=forwarded).status_code == 200
        assert login(web, "ghost@example.com", "wrong password!").status_code == 200
    audited = len(audit_actions(engine))
    for address in (email, "ghost@example.com"):
        refused = login(web, address, PASSWORD, headers={"X-Forwarded-For": "198.51.100.7"})
        assert refused.status_code == 429
        assert LOCKED in refused.get_data(as_text=True)
        assert refused.headers["Retry-After"] == "900"
    assert len(audit_actions(engine)) == audited  # nothing was checked while locked
    time.sleep(1.2)  # the failures have left their window; the lock has not ended
    assert login(web, email).status_code == 429
    time.sleep(2.0)
    assert login(web, email).status_code == 303
    engine.dispose()


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(
    web: FlaskClient, app_engine: Engine
) -> None:
    email = add_account(app_engine, Role.MANAGER)
    login(web, email)
    with write_session(app_engine) as session:
        accounts.disable_user(session, email)
    assert web.get("/account").status_code == 303
    assert WRONG_CREDENTIALS in login(web, email).get_data(as_text=True)


# Sessions -------------------------------------------------------------------------------------
def test_logout_revokes_a_copied_cookie(app: Flask, app_engine: Engine) -> None:
    """S13: a cookie captured before logout no longer signs anyone in afterwards."""
    email = add_account(app_engine, Role.RESEARCHER)
    web = app.test_client()
    login(web, email)
    stolen = session_cookie(web)
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/account").status_code == 200  # the copy works while the session lives
    logout = web.post("/logout", data={"csrf_token": csrf_token(web, "/account")})
    assert logout.status_code == 303
    assert logout.headers["Location"] == "/login"
    assert thief.get("/account").status_code == 303
    assert web.get("/account").status_code == 303
    assert ("logout", f"user:{_user_id(app_engine, email)}") in [
        (action, subject) for action, subject, _ in audit_actions(app_engine)
    ]


def test_logout_needs_the_csrf_token(web: FlaskClient, app_engine: Engine) -> None:
    email = add_account(app_engine, Role.RESEARCHER)
    login(web, email)
    assert web.post("/logout").status_code == 400
    assert web.get("/account").status_code == 200


def test_a_password_change_ends_other_sessions_only(app: Flask, app_engine: Engine) -> None:
    email = add_account(app_engine, Role.MANAGER)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, email)
    login(phone, email)
    new = "a completely new passphrase"
    reply = laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(laptop, "/account/password"),
            "current": PASSWORD,
            "new": new,
            "confirm": new,
        },
    )
    assert reply.status_code == 303
    assert "has been changed" in laptop.get("/account").get_data(as_text=True)
    assert phone.get("/account").status_code == 303
    assert login(app.test_client(), email, PASSWORD).status_code == 200  # old one refused
    assert login(app.test_client(), email, new).status_code == 303


def test_a_wrong_current_password_is_refused(web: FlaskClient, app_engine: Engine) -> None:
    email = add_account(app_engine, Role.MANAGER)
    login(web, email)
    reply = web.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(web, "/account/password"),
            "current": "not my password",
            "new": "another fine passphrase",
            "confirm": "another fine passphrase",
        },
    )
    assert reply.status_code == 422
    assert "current password is not right" in reply.get_data(as_text=True)
    assert login(app_test(web), email).status_code == 303  # unchanged


def app_test(web: FlaskClient) -> FlaskClient:
    return web.application.test_client()


def test_a_one_time_password_must_be_changed_first(web: FlaskClient, app_engine: Engine) -> None:
    with write_session(app_engine) as session:
        made = accounts.add_user(session, "new@example.com", Role.RESEARCHER)
    assert made.one_time
    reply = login(web, "new@example.com", made.password)
    assert reply.headers["Location"] == "/account/password"
    assert web.get("/account").headers["Location"] == "/account/password"
    page = web.get("/account/password").get_data(as_text=True)
    assert "one-time password" in page
    chosen = "my own long passphrase"
    web.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(web, "/account/password"),
            "current": made.password,
            "new": chosen,
            "confirm": chosen,
        },
    )
    assert web.get("/account").status_code == 200


def test_sessions_expire_after_the_configured_hours(web: FlaskClient, app_engine: Engine) -> None:
    email = add_account(app_engine, Role.MANAGER)
    login(web, email)
    with web.session_transaction() as session:
        session[SIGNED_IN_AT] = time.time() - 13 * 3600
    assert web.get("/account").status_code == 303


def test_cookies_are_http_only_lax_and_secure_over_https(
    db_url: str, tmp_path: Path, app_engine: Engine
) -> None:
    from webapp.settings import settings_from_env

    settings = settings_from_env(
        tmp_path, {"GAPMETER_SECURE_COOKIES": "1", "GAPMETER_SECRET_KEY": "s" * 40}
    )
    secure = {key: settings[key] for key in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_NAME")}
    app = make_app(db_url, tmp_path, **secure)
    engine = app.extensions["gapmeter.engine"]
    email = add_account(engine, Role.ADMIN)
    web = app.test_client()
    reply = login(web, email, base_url="https://localhost")
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie
    engine.dispose()


# Redirects ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https:evil.example",
        "https://evil.example/account",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "account",
        "",
    ],
)
def test_next_never_leaves_the_site(web: FlaskClient, app_engine: Engine, target: str) -> None:
    """S15: an off-site or odd ``next`` lands on the account page instead."""
    assert safe_next(target) is None
    email = add_account(app_engine, Role.MANAGER)
    reply = login(web, email, next_url=target)
    assert reply.headers["Location"] == "/account"


def test_next_is_followed_on_the_site(web: FlaskClient, app_engine: Engine) -> None:
    anonymous = web.get("/account/password?from=menu")
    assert anonymous.status_code == 303
    assert anonymous.headers["Location"] == "/login?next=/account/password?from%3Dmenu"
    email = add_account(app_engine, Role.MANAGER)
    page = web.get(anonymous.headers["Location"]).get_data(as_text=True)
    assert 'value="/account/password?from=menu"' in page
    reply = login(web, email, next_url="/account/password?from=menu")
    assert reply.headers["Location"] == "/account/password?from=menu"


# Audit and logs -------------------------------------------------------------------------------
def test_sign_ins_are_audited_and_logged_without_secrets(
    web: FlaskClient, app_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """P6: failures and successes are recorded; no address, password or cookie in the audit
    table or the log."""
    email = add_account(app_engine, Role.RESEARCHER)
    with caplog.at_level(logging.INFO):
        login(web, email, "a wrong password")
        login(web, email)
        cookie = session_cookie(web)
    actions = [action for action, _, _ in audit_actions(app_engine)]
    assert actions[-2:] == ["login.failed", "login.succeeded"]
    with read_session(app_engine) as session:
        dump = repr(
            [(e.actor, e.action, e.subject, e.detail) for e in session.scalars(select(AuditEntry))]
        )
    logged = caplog.text
    for secret in (email, PASSWORD, "a wrong password", cookie):
        assert secret not in dump
        assert secret not in logged
    assert "sign-in failed" in logged


# The command line -----------------------------------------------------------------------------
def invoke(app: Flask, command: Any, args: list[str], stdin: str | None = None) -> Result:
    return app.test_cli_runner().invoke(command, args, input=stdin)


def test_user_commands(app: Flask, app_engine: Engine) -> None:
    added = invoke(app, user, ["add", "Lead@Example.com", "--role", "admin"])
    assert added.exit_code == 0, added.output
    password = added.stdout.strip().rsplit(" ", 1)[-1]
    reply = login(app.test_client(), "lead@example.com", password)
    assert reply.headers["Location"] == "/account/password"  # one-time

    chosen = invoke(
        app,
        user,
        ["add", "ops@example.com", "--role", "manager", "--password-stdin"],
        PASSWORD + "\n",
    )
    assert chosen.exit_code == 0
    assert PASSWORD not in chosen.output
    assert login(app.test_client(), "ops@example.com").headers["Location"] == "/account"

    again = invoke(app, user, ["add", "ops@example.com", "--role", "manager"])
    assert again.exit_code == 1
    assert "exists already" in again.output
    short = invoke(
        app, user, ["add", "x@example.com", "--role", "manager", "--password-stdin"], "short\n"
    )
    assert "at least 12 characters" in short.output

    listing = invoke(app, user, ["list"]).output
    assert "lead@example.com\tadmin\tactive, must change password" in listing
    assert invoke(app, user, ["disable", "ops@example.com"]).exit_code == 0
    assert "ops@example.com\tmanager\tdisabled" in invoke(app, user, ["list"]).output
    assert login(app.test_client(), "ops@example.com").status_code == 200
    assert invoke(app, user, ["enable", "ops@example.com"]).exit_code == 0
    reset = invoke(app, user, ["password", "ops@example.com"])
    new_password = reset.stdout.strip().rsplit(" ", 1)[-1]
    assert login(app.test_client(), "ops@example.com").status_code == 200
    assert login(app.test_client(), "ops@example.com", new_password).status_code == 303
    assert invoke(app, user, ["disable", "nobody@example.com"]).exit_code == 1


def test_apikey_commands(app: Flask, app_engine: Engine, mixed: Any) -> None:
    from tests.webapp.conftest import add_campaign

    add_campaign(app_engine, mixed, "hotline")
    created = invoke(app, apikey, ["create", "Hotline IVR", "--campaign", "hotline"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("gmk_")
    reply = app.test_client().get("/api/v1/campaigns", headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 200
    listing = invoke(app, apikey, ["list"]).output
    assert "Hotline IVR" in listing
    assert "hotline\tactive" in listing
    assert key not in listing
    assert invoke(app, apikey, ["create", "CRM", "--campaign", "nope"]).exit_code == 1
    assert invoke(app, apikey, ["revoke", "Hotline IVR"]).exit_code == 0
    assert "revoked" in invoke(app, apikey, ["list"]).output
    reply = app.test_client().get("/api/v1/campaigns", headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 401
    with read_session(app_engine) as session:
        stored = repr([(e.action, e.detail) for e in session.scalars(select(AuditEntry))])
    assert "apikey.created" in stored
    assert "apikey.revoked" in stored
    assert key not in stored


def test_demo_accounts_one_per_role(app: Flask, app_engine: Engine) -> None:
    first = create_demo_accounts(app_engine)
    assert [role for _, role, _ in first] == ["admin", "researcher", "manager"]
    for email, _, password in first:
        assert login(app.test_client(), email, password).headers["Location"] == "/account"
    second = create_demo_accounts(app_engine)  # a second demo run resets the passwords
    assert [row[0] for row in second] == [row[0] for row in first]
    assert all(a[2] != b[2] for a, b in zip(first, second, strict=True))
    assert login(app.test_client(), first[0][0], first[0][2]).status_code == 200


def _user_id(engine: Engine, email: str) -> int:
    with read_session(engine) as session:
        found = session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return found


def test_sign_in_and_api_limits_survive_a_redis_outage(db_url: str, tmp_path: Path) -> None:
    """With Redis configured but not answering, counting falls back to process memory: sign-in
    works, failures still lock, the API limit still applies."""
    app = make_app(
        db_url,
        tmp_path,
        GAPMETER_REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens on port 1
        GAPMETER_LOGIN_FAILURES="2 per minute",
        GAPMETER_API_RATE_LIMIT="2 per minute",
    )
    engine = app.extensions["gapmeter.engine"]
    email = add_account(engine, Role.MANAGER)
    key = add_api_key(engine)
    assert login(app.test_client(), email).status_code == 303
    for _ in range(2):
        login(app.test_client(), email, "a wrong password")
    assert login(app.test_client(), email).status_code == 429
    api = app.test_client()
    statuses = [
        api.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {key}"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    engine.dispose()
