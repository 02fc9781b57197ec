"""Service standards kept in the database: managers create, edit and retire them through the
forms (CSRF on), the dashboard assesses them exactly as the engine does, wrong ones are refused
with the reason, and researchers and anonymous callers cannot touch them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from surveys.db import read_session
from surveys.models import AuditEntry, Role, Target
from tests.webapp.test_auth_support import csrf_token
from tests.webapp.test_insights_support import (
    INSTRUMENT,
    direct,
    page,
    section,
    signed_in,
    table_rows,
)

NEW = f"/insights/targets/new?instrument={INSTRUMENT}:1"
DASHBOARD = f"/insights/?instrument={INSTRUMENT}:1"
ENTERPRISE_RELIABILITY = {
    "key": "rel-enterprise",
    "label": "Enterprise reliability within a third of a point",
    "metric": "dimension_gap",
    "subject": "reliability",
    "direction": "at_least",
    "threshold": "-0.33",
    "segment": "enterprise",
    "stage": "",
    "channel": "",
}


def post_form(client: FlaskClient, url: str, fields: dict[str, Any]) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client, "/insights/targets"), **fields})


def stored(engine: Engine) -> list[Target]:
    with read_session(engine) as session:
        return list(session.scalars(select(Target).order_by(Target.id)))


def target_id(engine: Engine, key: str) -> int:
    return next(target.id for target in stored(engine) if target.key == key)


def test_a_created_target_is_assessed_on_the_dashboard(manager: FlaskClient, demo: Engine) -> None:
    reply = post_form(manager, NEW, ENTERPRISE_RELIABILITY)
    assert reply.status_code == 303, reply.get_data(as_text=True)[:1500]
    (target,) = stored(demo)
    assert (target.metric, target.subject, target.threshold) == (
        "dimension_gap",
        "reliability",
        -0.33,
    )
    assert target.scope == {"segment": "enterprise"}
    assert target.retired_at is None
    listing = page(manager, "/insights/targets")
    assert "rel-enterprise" in listing
    assert "segment = enterprise" in listing

    expected = next(t for t in direct(demo).targets if t.target == "db-rel-enterprise")
    assert expected.n > 0
    assert expected.scope == (("segment", "enterprise"),)
    rows = table_rows(section(page(manager, DASHBOARD), "targets"))
    row = rows["Enterprise reliability within a third of a point (stored)"]
    status = {"met": "Met", "missed": "Missed", "not_distinguishable": "Not distinguishable"}
    assert row[-1] == status[str(expected.status)]
    assert row[-2] == f"{expected.n:,}"
    assert row[1] == f"{expected.value:.2f}".replace("-", "\u2212")
    with read_session(demo) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "target.created" in actions


def test_editing_changes_the_threshold_and_the_status(manager: FlaskClient, demo: Engine) -> None:
    post_form(manager, NEW, ENTERPRISE_RELIABILITY)
    number = target_id(demo, "rel-enterprise")
    url = f"/insights/targets/{number}/edit"
    form = page(manager, url)
    assert 'value="-0.33"' in form
    assert re.search(
        r'<option selected value="enterprise">|<option value="enterprise" selected>', form
    )
    # A threshold every plausible gap is above: the status must become "met".
    reply = post_form(manager, url, {**ENTERPRISE_RELIABILITY, "threshold": "-5.5"})
    assert reply.status_code == 303
    (target,) = stored(demo)
    assert target.threshold == -5.5
    expected = next(t for t in direct(demo).targets if t.target == "db-rel-enterprise")
    assert expected.status == "met"
    rows = table_rows(section(page(manager, DASHBOARD), "targets"))
    assert rows["Enterprise reliability within a third of a point (stored)"][-1] == "Met"


def test_a_retired_target_is_no_longer_assessed(manager: FlaskClient, demo: Engine) -> None:
    post_form(manager, NEW, ENTERPRISE_RELIABILITY)
    number = target_id(demo, "rel-enterprise")
    reply = post_form(manager, f"/insights/targets/{number}/retire", {})
    assert reply.status_code == 303
    (target,) = stored(demo)
    assert target.retired_at is not None
    assert all(not t.target.startswith("db-") for t in direct(demo).targets)
    assert "(stored)" not in section(page(manager, DASHBOARD), "targets")
    assert "retired" in page(manager, "/insights/targets")
    assert manager.get(f"/insights/targets/{number}/edit").status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threshold": "-9"}, "outside the possible values of dimension_gap"),
        ({"subject": "rel_promise"}, "is not a dimension whose items ask expectation"),
        ({"metric": "nps", "subject": ""}, "needs an item asking nps"),
        ({"key": "Not a key!"}, "is not a valid key"),
        ({"threshold": ""}, "Give a threshold"),
    ],
)
def test_a_target_that_does_not_fit_is_refused_with_the_reason(
    manager: FlaskClient, demo: Engine, change: dict[str, str], message: str
) -> None:
    reply = post_form(manager, NEW, {**ENTERPRISE_RELIABILITY, **change})
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)
    assert stored(demo) == []


def test_a_key_is_used_once(manager: FlaskClient, demo: Engine) -> None:
    post_form(manager, NEW, ENTERPRISE_RELIABILITY)
    reply = post_form(manager, NEW, ENTERPRISE_RELIABILITY)
    assert reply.status_code == 422
    assert "exists already" in reply.get_data(as_text=True)
    assert len(stored(demo)) == 1


def test_researchers_and_anonymous_callers_cannot_change_targets(
    app: Flask, manager: FlaskClient, demo: Engine
) -> None:
    post_form(manager, NEW, ENTERPRISE_RELIABILITY)
    number = target_id(demo, "rel-enterprise")
    researcher = signed_in(app, demo, Role.RESEARCHER)
    token = csrf_token(researcher, "/account")
    for url in (NEW, f"/insights/targets/{number}/edit", f"/insights/targets/{number}/retire"):
        data = {"csrf_token": token, **ENTERPRISE_RELIABILITY, "threshold": "1"}
        assert researcher.post(url, data=data).status_code == 403, url
        anonymous = app.test_client().post(url, data=ENTERPRISE_RELIABILITY)
        assert anonymous.status_code in {303, 400}, url  # sign in first, or no CSRF token
        assert not anonymous.headers.get("Location", "/login").startswith("/insights")
    assert researcher.get(NEW).status_code == 403
    (target,) = stored(demo)
    assert target.threshold == -0.33
    assert target.retired_at is None
    with read_session(demo) as session:
        count = session.scalar(select(func.count()).select_from(Target))
    assert count == 1


def test_a_form_without_its_csrf_token_is_refused(manager: FlaskClient, demo: Engine) -> None:
    reply = manager.post(NEW, data=ENTERPRISE_RELIABILITY)
    assert reply.status_code == 400
    assert stored(demo) == []
