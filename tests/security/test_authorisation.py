"""Who may call what: every role × every route, and object-level rules (security.md S9, S10,
T14, T16; issue 6 "Authorisation").

The expected access is written here as its own table (``EXPECTED``, by blueprint), not read
from the policy registry the app enforces, so a wrong declaration in the app fails this test.
Routes come from walking ``app.url_map`` (new studio and insights pages are covered when they
are registered; an endpoint the table does not know fails), with URL arguments from real rows.
Callers: anonymous, each staff role (signed in through the real login form), an API key for
every campaign and an API key limited to one campaign.

Expected replies: allowed callers are not refused (no 401/403, no redirect to the login page)
and never get a 5xx; anonymous callers are sent to the login page (pages) or get 401 (API);
a signed-in account without the role gets 403; a session cookie is no API key (401); an API key
opens no page.

Object-level rules: a manager cannot erase data, import responses or upload instruments (403,
nothing changed); an API key limited to one campaign cannot post to, read or list another
(403, nothing stored); a body cannot choose its campaign or status (mass assignment, 422); a
report job is visible to its owner and admins only (404 for another manager).
"""

from __future__ import annotations

import io
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from werkzeug.routing import Rule

from surveys.db import read_session
from surveys.instrument import Instrument
from surveys.models import InstrumentVersion, Invitation, Role
from tests.security.conftest import counts, signed_in
from tests.webapp.conftest import (
    MIXED_ANSWERS,
    MIXED_FORM,
    MIXED_YAML,
    add_campaign,
    add_invitation,
)
from tests.webapp.test_auth_support import add_api_key, call, csrf_token, refused
from webapp.api.openapi import PREFIX

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
STAFF_ROLES = tuple(Role)


# The expected table ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Access:
    """Who may call an endpoint: everyone, signed-in ``roles``, or API keys only."""

    public: bool = False
    roles: frozenset[Role] = frozenset()
    api: bool = False


EVERYONE = Access(public=True)
SIGNED_IN = Access(roles=frozenset(Role))
STUDIO = Access(roles=frozenset({Role.RESEARCHER, Role.ADMIN}))
INSIGHTS = Access(roles=frozenset({Role.MANAGER, Role.ADMIN}))
API_ONLY = Access(api=True)

#: Endpoints open to everyone, each on purpose.
PUBLIC_ENDPOINTS = {
    "static": "the app's CSS and images",
    "health.health": "load balancer health check",
    "auth.login": "the sign-in page",
    "auth.static": "the sign-in page's stylesheet",
    "insights.font": "the free fonts the charts are drawn in (no data)",
}
#: Access by blueprint (the first part of the endpoint name).
BY_BLUEPRINT = {
    "respond": EVERYONE,  # survey pages: anyone with the link
    "auth": SIGNED_IN,  # account, password, logout
    "studio": STUDIO,
    "insights": INSIGHTS,
    "api": API_ONLY,
}


def expected(endpoint: str) -> Access:
    if endpoint in PUBLIC_ENDPOINTS:
        return EVERYONE
    blueprint = endpoint.partition(".")[0]
    assert blueprint in BY_BLUEPRINT, (
        f"{endpoint}: a blueprint this table does not know; say who may call it here"
    )
    return BY_BLUEPRINT[blueprint]


# Routes with real arguments -------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: str
    access: Access


@dataclass(frozen=True)
class Rows:
    campaign: str
    instrument: str
    token: str


def argument_value(rule: Rule, name: str, rows: Rows) -> str:
    """A real value for URL argument ``name`` of ``rule``."""
    if name == "key":  # /campaigns/<key> is a campaign, /instruments/<key> an instrument
        return rows.campaign if "/campaigns/<key>" in rule.rule else rows.instrument
    values = {
        "campaign_key": rows.campaign,
        "token": rows.token,
        "version": "1",
        "fmt": "csv",
        "filename": "auth.css" if rule.endpoint == "auth.static" else "app.css",
        "name": "SourceSansPro-Regular.otf",
        "job_id": "A" * 22,  # a well-formed id of no job: the policy answers before the 404
        "target_id": "1",
    }
    assert name in values, f"{rule.rule}: no real value for <{name}>; add one here"
    return values[name]


def all_routes(app: Flask, rows: Rows) -> Iterator[Route]:
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        arguments = {name: argument_value(rule, name, rows) for name in rule.arguments}
        url = adapter.build(rule.endpoint, arguments)
        for method in sorted(set(rule.methods or ()) & set(METHODS)):
            yield Route(rule.endpoint, method, url, expected(rule.endpoint))


@pytest.fixture
def rows(app_engine: Engine, mixed: Instrument) -> Rows:
    campaign = add_campaign(app_engine, mixed, "authz")
    return Rows(campaign, mixed.key, add_invitation(app_engine, campaign))


# The matrix -----------------------------------------------------------------------------------
def test_the_table_knows_every_route(app: Flask, rows: Rows) -> None:
    walked = list(all_routes(app, rows))
    blueprints = {route.endpoint.partition(".")[0] for route in walked}
    assert {"respond", "auth", "api"} <= blueprints
    public = {route.endpoint for route in walked if route.access.public}
    assert public - {e for e in public if e.startswith("respond.")} <= set(PUBLIC_ENDPOINTS)


def test_anonymous(app: Flask, rows: Rows) -> None:
    for route in all_routes(app, rows):
        status, location = call(app.test_client(), route)
        where = f"anonymous {route.method} {route.url} -> {status} {location}"
        assert status < 500, where
        if route.access.public:
            assert not refused(status, location), where
        elif route.access.api:
            assert status == 401, where
        else:
            assert status == 303, where
            assert location.startswith("/login"), where


@pytest.mark.parametrize("role", STAFF_ROLES, ids=[str(role) for role in STAFF_ROLES])
def test_each_staff_role(app: Flask, app_engine: Engine, rows: Rows, role: Role) -> None:
    web = signed_in(app, app_engine, role)
    allowed = 0
    for route in all_routes(app, rows):
        if route.endpoint == "auth.logout":
            continue  # would end the session the walk needs (tested in tests/webapp)
        status, location = call(web, route)
        where = f"{role} {route.method} {route.url} -> {status} {location}"
        assert status < 500, where
        if route.access.api:
            assert status == 401, where  # a session cookie is no API key
        elif route.access.public or role in route.access.roles:
            assert not refused(status, location), where
            allowed += 1
        else:
            assert status == 403, where
    assert allowed > 0


@pytest.mark.parametrize("scoped", [False, True], ids=["key", "campaign-key"])
def test_api_keys(app: Flask, app_engine: Engine, rows: Rows, scoped: bool) -> None:
    key = add_api_key(app_engine, campaign=rows.campaign if scoped else None)
    for route in all_routes(app, rows):
        status, location = call(app.test_client(), route, Authorization=f"Bearer {key}")
        where = f"API key {route.method} {route.url} -> {status} {location}"
        assert status < 500, where
        if route.access.api:
            assert status not in {401, 403}, where
        elif not route.access.public:
            assert status == 303, where
            assert location.startswith("/login"), where  # a key opens no page


# Object level: managers -----------------------------------------------------------------------
def stored(engine: Engine) -> tuple[int, int, int, int]:
    with read_session(engine) as session:
        versions = session.scalar(select(func.count()).select_from(InstrumentVersion)) or 0
        used = (
            session.scalar(
                select(func.count()).select_from(Invitation).where(Invitation.used_at.is_not(None))
            )
            or 0
        )
        invitations = session.scalar(select(func.count()).select_from(Invitation)) or 0
    found = counts(engine)
    return found.responses, int(versions), int(invitations), int(used)


def answered_invitation(app: Flask, engine: Engine, campaign: str) -> str:
    """A token whose response is stored (through the real invitation page)."""
    from tests.webapp.conftest import SurveyClient

    token = add_invitation(engine, campaign)
    browser = SurveyClient(app.test_client())
    page = browser.open_survey(f"/i/{token}")
    fields = {**page.hidden, **MIXED_FORM}
    reply = browser.client.post(page.action or "", data={**fields, "gm_page": "2"})
    assert reply.status_code == 303, reply.get_data(as_text=True)[:300]
    return token


@pytest.fixture
def invited(app: Flask, app_engine: Engine, mixed: Instrument) -> tuple[str, str]:
    from surveys.models import Access as CampaignAccess

    campaign = add_campaign(app_engine, mixed, "invited", access=CampaignAccess.INVITATION)
    return campaign, answered_invitation(app, app_engine, campaign)


def studio_or_skip(app: Flask) -> None:
    if "studio.campaign_erase" not in app.view_functions:
        pytest.skip("the studio's data pages are not registered yet")


def test_a_manager_cannot_erase_import_or_upload(
    app: Flask, app_engine: Engine, invited: tuple[str, str]
) -> None:
    studio_or_skip(app)
    campaign, token = invited
    manager = signed_in(app, app_engine, Role.MANAGER)
    token_of_form = csrf_token(manager, "/account")
    csv_body = b"response_id,submitted_at\n"
    attempts = {
        f"/studio/campaigns/{campaign}/erase": {"reference": token, "confirm": "y"},
        f"/studio/campaigns/{campaign}/import": {"responses": (io.BytesIO(csv_body), "r.csv")},
        "/studio/instruments": {
            "file": (io.BytesIO(MIXED_YAML.replace("key: mixed", "key: other").encode()), "i.yaml"),
            "action": "store",
        },
    }
    before = stored(app_engine)
    for url, fields in attempts.items():
        reply = manager.post(url, data={"csrf_token": token_of_form, **fields})
        assert reply.status_code == 403, url
    assert stored(app_engine) == before
    # The same erase by a researcher works: the refusal above was the role, not the request.
    researcher = signed_in(app, app_engine, Role.RESEARCHER)
    reply = researcher.post(
        f"/studio/campaigns/{campaign}/erase",
        data={"csrf_token": csrf_token(researcher, "/account"), "reference": token, "confirm": "y"},
    )
    assert reply.status_code == 303, reply.get_data(as_text=True)[:500]
    assert stored(app_engine)[0] == before[0] - 1


# Object level: API keys -----------------------------------------------------------------------
@pytest.fixture
def two_campaigns(app_engine: Engine, mixed: Instrument) -> tuple[str, str]:
    return add_campaign(app_engine, mixed, "ours"), add_campaign(app_engine, mixed, "theirs")


def post(app: Flask, key: str, campaign: str, body: object) -> tuple[int, dict[str, object]]:
    reply = app.test_client().post(
        f"{PREFIX}/campaigns/{campaign}/responses",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": secrets.token_hex(8)},
    )
    return reply.status_code, reply.get_json()


def test_a_campaign_key_cannot_touch_another_campaign(
    app: Flask, app_engine: Engine, two_campaigns: tuple[str, str]
) -> None:
    ours, theirs = two_campaigns
    key = add_api_key(app_engine, campaign=ours)
    web = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    before = counts(app_engine)
    status, problem = post(app, key, theirs, {"answers": MIXED_ANSWERS})
    assert status == 403, problem
    assert ours in str(problem["detail"])
    assert counts(app_engine) == before
    for path in (f"/campaigns/{theirs}", f"/campaigns/{theirs}/assessment"):
        assert web.get(PREFIX + path, headers=auth).status_code == 403, path
    listed = web.get(f"{PREFIX}/campaigns", headers=auth).get_json()["campaigns"]
    assert [campaign["key"] for campaign in listed] == [ours]
    # Not even a campaign that does not exist can be probed: 403 before the 404.
    assert web.get(f"{PREFIX}/campaigns/nope", headers=auth).status_code == 403
    # Its own campaign works, so the refusals above are the scope.
    status, created = post(app, key, ours, {"answers": MIXED_ANSWERS})
    assert status == 201, created
    assert counts(app_engine).responses == before.responses + 1


def test_a_body_cannot_choose_its_campaign_or_status(
    app: Flask, app_engine: Engine, two_campaigns: tuple[str, str]
) -> None:
    """Mass assignment (T14): fields other than answers, segment and time are refused."""
    ours, theirs = two_campaigns
    key = add_api_key(app_engine, campaign=ours)
    before = counts(app_engine)
    for extra in ({"campaign": theirs}, {"status": "complete"}, {"created_by": 1}, {"id": "x"}):
        status, problem = post(app, key, ours, {"answers": MIXED_ANSWERS, **extra})
        assert status == 422, problem
        fields = [error["field"] for error in problem["errors"]]  # type: ignore[union-attr]
        assert fields == list(extra), problem
    assert counts(app_engine) == before


def test_a_revoked_key_is_refused_everywhere(
    app: Flask, app_engine: Engine, two_campaigns: tuple[str, str]
) -> None:
    from surveys.db import write_session
    from surveys.services import accounts

    ours, _ = two_campaigns
    name = f"revoked-{secrets.token_hex(3)}"
    key = add_api_key(app_engine, name=name)
    with write_session(app_engine) as session:
        accounts.revoke_api_key(session, name)
    status, _ = post(app, key, ours, {"answers": MIXED_ANSWERS})
    assert status == 401
    reply = app.test_client().get(f"{PREFIX}/campaigns", headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 401


# Object level: report jobs --------------------------------------------------------------------
def test_a_report_job_is_its_owners(app: Flask, app_engine: Engine, mixed: Instrument) -> None:
    if "insights.start_report" not in app.view_functions:
        pytest.skip("insights reports are not registered yet")
    add_campaign(app_engine, mixed, "reports")
    owner = signed_in(app, app_engine, Role.MANAGER)
    other = signed_in(app, app_engine, Role.MANAGER)
    admin = signed_in(app, app_engine, Role.ADMIN)
    reply = owner.post(
        "/insights/reports",
        data={"csrf_token": csrf_token(owner, "/account"), "instrument": f"{mixed.key}:1"},
    )
    assert reply.status_code == 303
    match = re.search(r"/insights/reports/([A-Za-z0-9_-]{22})", reply.headers["Location"])
    if match is None:
        pytest.skip(f"no job was started for this scope ({reply.headers['Location']})")
    job = match.group(0)
    assert owner.get(job).status_code in {200, 500}  # a failed render has its own page
    assert other.get(job).status_code == 404
    assert other.get(job + "/pdf").status_code == 404
    assert admin.get(job).status_code in {200, 500}
    wait_for(owner, job)


def wait_for(web: FlaskClient, job: str, seconds: float = 120) -> None:
    """Until the job has finished (its render thread holds a database connection, which must
    be returned before the test's engine is disposed)."""
    deadline = time.monotonic() + seconds
    while 'http-equiv="refresh"' in web.get(job).get_data(as_text=True):  # still waiting
        assert time.monotonic() < deadline, "the report job did not finish"
        time.sleep(0.3)


def test_ids_too_large_for_the_database_are_404(app: Flask, app_engine: Engine, rows: Rows) -> None:
    """Every ``<int:...>`` in a URL, given a value past the database's integer columns, is a
    404 (it was an OverflowError from the driver: a 500) for a caller allowed in."""
    admin = signed_in(app, app_engine, Role.ADMIN)
    key = add_api_key(app_engine)
    adapter = app.url_map.bind("localhost")
    huge = "9" * 20
    checked = 0
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if conv.regex == r"\d+"]
        if not ints or "GET" not in (rule.methods or ()):
            continue
        arguments = {name: argument_value(rule, name, rows) for name in rule.arguments}
        url = adapter.build(rule.endpoint, arguments)
        for name in ints:
            url = url.replace(f"/{arguments[name]}", f"/{huge}", 1)
        client = admin if not rule.endpoint.startswith("api.") else app.test_client()
        reply = client.get(url, headers={"Authorization": f"Bearer {key}"})
        assert reply.status_code == 404, f"{url} -> {reply.status_code}"
        checked += 1
    assert checked > 0
