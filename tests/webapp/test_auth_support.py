"""Helpers shared by the account, route-policy and API tests (this module has no tests).

Accounts and keys are made through the real services; signing in goes through the real login
form with its CSRF token, as a browser does.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Protocol

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from surveys.db import write_session
from surveys.models import Role
from surveys.services import accounts

PASSWORD = "correct horse battery staple"
REDIS_URL = "redis://127.0.0.1:6379/15"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def add_account(
    engine: Engine, role: Role | str, *, email: str | None = None, password: str | None = PASSWORD
) -> str:
    """A new account of ``role`` (the given password, or a one-time one when None); its address."""
    address = email or f"{Role(role).value}-{secrets.token_hex(3)}@example.com"
    with write_session(engine) as session:
        accounts.add_user(session, address, role, password)
    return address


def add_api_key(engine: Engine, name: str | None = None, campaign: str | None = None) -> str:
    with write_session(engine) as session:
        issued = accounts.create_api_key(
            session, name or f"system-{secrets.token_hex(3)}", campaign_key=campaign
        )
    return issued.key


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on ``path`` (tied to this client's session)."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


class RouteCall(Protocol):
    endpoint: str
    method: str
    url: str


def call(client: FlaskClient, route: RouteCall, **headers: str) -> tuple[int, str]:
    """Send ``route`` as a browser would (a staff form post carries the session's CSRF token);
    the status and the ``Location`` header."""
    data = {}
    if route.method != "GET" and not route.endpoint.startswith("api."):
        data = {"csrf_token": csrf_token(client)}
    reply = client.open(route.url, method=route.method, data=data, headers=headers)
    reply.close()
    return reply.status_code, reply.headers.get("Location", "")


def refused(status: int, location: str) -> bool:
    """A refusal by the route policy: 401, 403 or a redirect to the sign-in page."""
    return status in {401, 403} or location.startswith("/login")


def login(
    client: FlaskClient,
    email: str,
    password: str = PASSWORD,
    *,
    next_url: str | None = None,
    **kwargs: Any,
) -> TestResponse:
    data = {"csrf_token": csrf_token(client), "email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data, **kwargs)


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session") or client.get_cookie("__Host-session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def limiter_config(kind: str) -> dict[str, Any]:
    """App settings for rate-limit storage ``kind`` (memory, or Redis with a fresh prefix)."""
    prefix = {"GAPMETER_RATE_LIMIT_PREFIX": f"gapmeter-test-{secrets.token_hex(6)}"}
    if kind == "memory":
        return {**prefix, "GAPMETER_REDIS_URL": None}
    if not redis_available():
        pytest.skip(f"Redis leg not run: no Redis server answers at {REDIS_URL}")
    return {**prefix, "GAPMETER_REDIS_URL": REDIS_URL}


@pytest.fixture(params=["memory", "redis"])
def limiter_storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Rate-limit settings for both storages: process memory, and the local Redis."""
    return limiter_config(request.param)
