"""Helpers shared by the insights tests (this module has no tests): a database filled by the
demo generator and a signed-in manager (the ``demo`` and ``manager`` fixtures of conftest.py),
and the assessment of a scope computed directly (what the pages must agree with)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from analysis.assessment import Assessment
from analysis.scope import Scope, assess_scope
from surveys.db import read_session
from surveys.demo import populate_demo
from surveys.models import Role
from surveys.services.instruments import get_instrument
from surveys.services.targets import with_database_targets
from tests.webapp.test_auth_support import add_account, login
from webapp.insights.routes import BY

#: The demo's last complete month is June 2026 (12 months from July 2025).
TODAY = date(2026, 7, 15)
RESPONSES = 500
INSTRUMENT = "service-quality"


def fill_demo(engine: Engine) -> Engine:
    """The database with the demo's campaigns and synthetic responses (the ``demo`` fixture)."""
    populate_demo(engine, responses=RESPONSES, seed=11, today=TODAY)
    return engine


def signed_in(app: Flask, engine: Engine, role: Role) -> FlaskClient:
    client = app.test_client()
    assert login(client, add_account(engine, role)).status_code == 303
    return client


def version_id(engine: Engine, key: str = INSTRUMENT) -> int:
    with read_session(engine) as session:
        row = get_instrument(session, key)
        assert row is not None
        return row.id


def direct(engine: Engine, **filters: Any) -> Assessment:
    """The assessment of a scope computed without the web app (with the stored targets)."""
    scope = Scope(version_id(engine), **filters)
    with read_session(engine) as session:
        row = get_instrument(session, INSTRUMENT)
        assert row is not None
        instrument = with_database_targets(session, row)
    return assess_scope(engine, scope, by=BY, targets=instrument.targets)


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    reply = client.get(url)
    assert reply.status_code == status, reply.get_data(as_text=True)[:2000]
    return reply.get_data(as_text=True)


def section(html: str, anchor: str) -> str:
    """The HTML of ``<section id="anchor">``."""
    start = html.index(f'<section id="{anchor}"')
    return html[start : html.index("</section>", start)]


def table_rows(html: str) -> dict[str, list[str]]:
    """``{row header: [cell texts]}`` of the tables in ``html`` (tags stripped, unescaped)."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        header = re.search(r'<th scope="row">(.*?)</th>', row, flags=re.S)
        if header is None:
            continue
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows[_text(header.group(1))] = [_text(cell) for cell in cells]
    return rows


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
