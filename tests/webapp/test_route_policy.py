"""Every route has a declared policy, and the app keeps to it (security.md S9, S10, T16).

Walks ``app.url_map``: an endpoint without a declared policy fails the first test (and is refused
at run time). Then, for every route and method, anonymous callers are refused (a redirect to the
login page for pages, 401 for the API and JSON clients), every role gets exactly what its policy
allows (others 403), and an API key opens the API and nothing else. New blueprints (studio,
insights) are covered the moment they are registered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import Engine
from werkzeug.routing import Rule

from surveys.instrument import Instrument
from surveys.models import Role
from tests.webapp.conftest import add_campaign, add_invitation
from tests.webapp.test_auth_support import add_account, add_api_key, call, login, refused
from webapp.auth.policy import (
    API,
    PUBLIC,
    Kind,
    Policy,
    policy_of,
    public,
    require_role,
    staff,
    undeclared_endpoints,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: str
    policy: Policy


def routes(app: Flask, values: dict[str, str]) -> Iterator[Route]:
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        policy = policy_of(app, rule.endpoint)
        assert policy is not None, rule.endpoint
        for method in sorted(set(rule.methods or ()) & set(METHODS)):
            yield Route(rule.endpoint, method, _url(adapter, rule, values), policy)


def _url(adapter: object, rule: Rule, values: dict[str, str]) -> str:
    arguments = {name: values.get(name, "1") for name in rule.arguments}
    if rule.endpoint == "static":
        arguments = {"filename": "app.css"}
    return adapter.build(rule.endpoint, arguments)  # type: ignore[attr-defined]


@pytest.fixture
def values(app_engine: Engine, mixed: Instrument) -> dict[str, str]:
    """Real arguments for routes that need them (a campaign, an invitation, an instrument)."""
    key = add_campaign(app_engine, mixed, "policy")
    return {
        "campaign_key": key,
        "key": key,
        "token": add_invitation(app_engine, key),
        "version": "1",
    }


# Declarations ---------------------------------------------------------------------------------
def test_every_endpoint_declares_a_policy(app: Flask) -> None:
    assert undeclared_endpoints(app) == []
    assert policy_of(app, "respond.open_link") == PUBLIC
    assert policy_of(app, "auth.login") == PUBLIC
    assert policy_of(app, "health.health") == PUBLIC
    assert policy_of(app, "api.post_responses") == API


def test_an_undeclared_route_is_found_and_refused(app: Flask) -> None:
    @app.get("/forgotten")
    def forgotten() -> str:
        return "secret"

    @app.get("/declared")
    @public
    def declared() -> str:
        return "fine"

    assert undeclared_endpoints(app) == ["forgotten"]
    client = app.test_client()
    assert client.get("/forgotten").status_code == 403
    assert client.get("/declared").status_code == 200


def test_roles_nest_under_admin() -> None:
    studio, insights, anyone = staff(Role.RESEARCHER), staff("manager"), staff()
    assert studio.allows(Role.RESEARCHER)
    assert not studio.allows(Role.MANAGER)
    assert insights.allows(Role.MANAGER)
    assert not insights.allows(Role.RESEARCHER)
    for policy in (studio, insights, anyone):
        assert policy.allows(Role.ADMIN)
        assert not policy.allows(None)
    assert all(anyone.allows(role) for role in Role)
    assert not API.allows(Role.ADMIN)  # a staff session never passes an API policy
    assert PUBLIC.allows(None)


# The matrix -----------------------------------------------------------------------------------
def test_anonymous_callers_reach_public_routes_only(app: Flask, values: dict[str, str]) -> None:
    checked = dict.fromkeys(Kind, 0)
    for route in routes(app, values):
        client = app.test_client()
        status, location = call(client, route)
        checked[route.policy.kind] += 1
        where = f"{route.method} {route.url}"
        if route.policy.kind is Kind.PUBLIC:
            assert not refused(status, location), where
        elif route.policy.kind is Kind.API:
            assert status == 401, where
        else:
            assert status == 303, where
            assert location.startswith("/login"), where
            if route.method == "GET":
                assert location.endswith("next=" + route.url.replace("?", "%3F")), where
            json_status, _ = call(app.test_client(), route, Accept="application/json")
            assert json_status in {400, 401}, where  # 400: a JSON post without the form token
    assert all(checked.values()), checked


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_what_its_policy_allows(
    app: Flask, app_engine: Engine, values: dict[str, str], role: Role
) -> None:
    client = app.test_client()
    assert login(client, add_account(app_engine, role)).status_code == 303
    allowed = forbidden = 0
    for route in routes(app, values):
        if route.endpoint == "auth.logout":
            continue  # would end the session the rest of the walk needs; tested in test_auth
        status, location = call(client, route)
        where = f"{role} {route.method} {route.url} -> {status} {location}"
        if route.policy.kind is Kind.API:
            assert status == 401, where  # the session cookie is no API key
        elif route.policy.allows(role):
            assert not refused(status, location), where
            allowed += 1
        else:
            assert status == 403, where
            forbidden += 1
    assert allowed > 0
    if role is Role.ADMIN:
        assert forbidden == 0


def test_an_api_key_opens_the_api_and_nothing_else(
    app: Flask, app_engine: Engine, values: dict[str, str]
) -> None:
    key = add_api_key(app_engine)
    for route in routes(app, values):
        client = app.test_client()
        status, location = call(client, route, Authorization=f"Bearer {key}")
        where = f"{route.method} {route.url} -> {status}"
        if route.policy.kind is Kind.API:
            assert status not in {401, 403}, where
        elif route.policy.kind is Kind.STAFF:
            assert location.startswith("/login"), where


def test_private_replies_are_not_cached(
    app: Flask, app_engine: Engine, values: dict[str, str]
) -> None:
    """S14: every reply behind a login or a key says ``Cache-Control: no-store``."""
    client = app.test_client()
    login(client, add_account(app_engine, Role.ADMIN))
    for route in routes(app, values):
        if route.method != "GET" or route.policy.kind is Kind.PUBLIC:
            continue
        reply = client.get(route.url)
        assert reply.headers.get("Cache-Control") == "no-store", route.url


def test_a_staff_route_declared_later_is_enforced(app: Flask, app_engine: Engine) -> None:
    """The decorators other blueprints use: a researcher view refuses a manager with 403."""

    @app.get("/studio-like")
    @require_role(Role.RESEARCHER)
    def studio_like() -> str:
        return "studio"

    manager, researcher = app.test_client(), app.test_client()
    login(manager, add_account(app_engine, Role.MANAGER))
    login(researcher, add_account(app_engine, Role.RESEARCHER))
    assert manager.get("/studio-like").status_code == 403
    assert researcher.get("/studio-like").get_data(as_text=True) == "studio"
    assert app.test_client().get("/studio-like").headers["Location"].startswith("/login")
