"""The studio's reliability view: Cronbach's alpha per dimension and measure with its interval,
item-total r and alpha-if-deleted, the n, the warnings, and suppression below the minimum cell
(SQLite and PostgreSQL, through the test client). The expected alpha is computed here from the
imported data with numpy, independently of the statistics engine."""

from __future__ import annotations

import re

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import Engine

from surveys.instrument import Instrument
from surveys.response_table import ResponseRecord
from tests.webapp.conftest import add_campaign
from tests.webapp.test_studio_support import (
    post_form,
    random_records,
    signed_in,
    table_bytes,
    text_of,
    upload,
)


def cronbach(records: list[ResponseRecord], slots: list[str]) -> float:
    rows = [
        [record.answers.values[slot] for slot in slots]
        for record in records
        if all(slot in record.answers.values for slot in slots)
    ]
    data = np.array(rows, dtype=float)
    k = data.shape[1]
    return float(k / (k - 1) * (1 - data.var(axis=0, ddof=1).sum() / data.sum(axis=1).var(ddof=1)))


def imported(
    app: Flask, engine: Engine, instrument: Instrument, count: int
) -> tuple[object, list[ResponseRecord]]:
    key = add_campaign(engine, instrument, "sq")
    client = signed_in(app, engine)
    records = random_records(instrument, count, seed=11)
    page = f"/studio/campaigns/{key}"
    data = {"responses": upload(table_bytes(instrument, records), "r.csv")}
    assert post_form(client, page, f"{page}/import", data).status_code == 303
    return client, records


def test_the_table_matches_alpha_computed_from_the_data(
    app: Flask, app_engine: Engine, service_quality: Instrument
) -> None:
    client, records = imported(app, app_engine, service_quality, 40)
    reply = client.get("/studio/instruments/service-quality/1/reliability?campaign=sq")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert "n = 40" in text_of(reply)
    summary = html.split('<table class="reliability-summary">')[1].split("</table>")[0]
    rows = [" ".join(row.split()) for row in summary.split("<tr>")[2:]]
    dimensions = {dimension.key for dimension in service_quality.dimensions}
    assert len(rows) == 2 * len(dimensions)  # expectation and perception of each dimension
    slots = [slot.name for slot in service_quality.slots() if slot.dimension == "reliability"]
    perception = [slot for slot in slots if slot.endswith("__perception")]
    expected = cronbach(records, perception)
    row = next(row for row in rows if "perception" in row and "Reliability</a>" in row)
    cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)
    assert cells[0] == "40"  # n
    assert cells[1] == str(len(perception))  # k
    assert cells[2] == f"{expected:.2f}"
    block = html.split("Reliability — perception")[1].split("</section>")[0]
    assert block.count("<tr>") == len(perception) + 1
    assert "95% CI" in block
    assert "Method: Cronbach" in text_of(reply)


def test_warnings_are_shown(app: Flask, app_engine: Engine, service_quality: Instrument) -> None:
    """Random noise items with no common level: alpha far below 0.7, flagged."""
    key = add_campaign(app_engine, service_quality, "noise")
    client = signed_in(app, app_engine)
    records = random_records(service_quality, 30, seed=3)
    rng = np.random.default_rng(5)
    noisy = [
        ResponseRecord(
            record.response_id,
            record.submitted_at,
            record.segment,
            record.stage,
            record.channel,
            type(record.answers)({slot: int(rng.integers(1, 6)) for slot in record.answers.values}),
        )
        for record in records
    ]
    page = f"/studio/campaigns/{key}"
    data = {"responses": upload(table_bytes(service_quality, noisy), "r.csv")}
    assert post_form(client, page, f"{page}/import", data).status_code == 303
    reply = client.get(f"/studio/instruments/service-quality/1/reliability?campaign={key}")
    assert "Warning: alpha" in text_of(reply)
    assert "is below 0.7" in text_of(reply)


@pytest.mark.parametrize("count", [0, 4])
def test_small_n_is_suppressed(
    app: Flask, app_engine: Engine, service_quality: Instrument, count: int
) -> None:
    if count:
        client, _ = imported(app, app_engine, service_quality, count)
    else:
        add_campaign(app_engine, service_quality, "sq")
        client = signed_in(app, app_engine)
    reply = client.get("/studio/instruments/service-quality/1/reliability")
    assert reply.status_code == 200
    text = text_of(reply)
    assert f"n = {count}" in text
    assert "Suppressed: fewer than 5 respondents" in text
    assert "Cronbach's alpha</dt>" not in reply.get_data(as_text=True)
    assert "reliability-summary" not in reply.get_data(as_text=True)


def test_reliability_refuses_other_roles_and_unknown_campaigns(
    app: Flask, app_engine: Engine, service_quality: Instrument
) -> None:
    add_campaign(app_engine, service_quality, "sq")
    url = "/studio/instruments/service-quality/1/reliability"
    assert signed_in(app, app_engine, "manager").get(url).status_code == 403
    assert app.test_client().get(url).headers["Location"].startswith("/login")
    researcher = signed_in(app, app_engine)
    assert researcher.get(url + "?campaign=nothing").status_code == 404
