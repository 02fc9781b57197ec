"""Studio campaigns: create, open, close, invitations by count and from a respondents file (the
links file as the answer, formula-neutralised), and fielding counts by segment and day (SQLite
and PostgreSQL, through the test client)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select

from surveys.clock import as_utc, utcnow
from surveys.db import read_session
from surveys.models import Campaign, Invitation
from surveys.services import campaigns
from surveys.services.invitations import find_invitation
from tests.webapp.conftest import add_campaign, mixed_instrument
from tests.webapp.test_studio_support import (
    post_form,
    random_records,
    signed_in,
    table_bytes,
    text_of,
    upload,
)


def invitation_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Invitation)) or 0)


def stored_campaign(engine: Engine, key: str) -> Campaign | None:
    with read_session(engine) as session:
        found = campaigns.get_campaign(session, key)
        if found is not None:
            session.expunge(found)
        return found


def test_the_campaign_pages_render(app: Flask, app_engine: Engine) -> None:
    key = add_campaign(app_engine, mixed_instrument(), "spring")
    client = signed_in(app, app_engine)
    for url in ("/studio/campaigns", "/studio/campaigns/new", f"/studio/campaigns/{key}"):
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert "style=" not in reply.get_data(as_text=True)
    assert "Campaign spring" in text_of(client.get("/studio/campaigns"))
    assert client.get("/studio/campaigns/nothing").status_code == 404


def test_a_campaign_is_created_from_the_form(app: Flask, app_engine: Engine) -> None:
    add_campaign(app_engine, mixed_instrument(), "spring")  # stores the instrument
    client = signed_in(app, app_engine)
    reply = post_form(
        client,
        "/studio/campaigns/new",
        "/studio/campaigns/new",
        {
            "key": "autumn-web",
            "name": "Autumn web survey",
            "instrument": "mixed:1",
            "stage": "onboarding",
            "channel": "store",
            "segment": "enterprise",
            "access": "invitation",
            "opens_at": "2026-09-01T08:00",
            "closes_at": "2026-10-01T08:00",
        },
    )
    assert reply.status_code == 303
    assert reply.headers["Location"] == "/studio/campaigns/autumn-web"
    created = stored_campaign(app_engine, "autumn-web")
    assert created is not None
    assert (created.name, created.stage, created.channel, created.segment, created.access) == (
        "Autumn web survey",
        "onboarding",
        "store",
        "enterprise",
        "invitation",
    )
    assert as_utc(created.opens_at) == datetime(2026, 9, 1, 8, tzinfo=UTC)
    assert as_utc(created.closes_at) == datetime(2026, 10, 1, 8, tzinfo=UTC)


def test_a_bad_campaign_is_refused_with_its_reason(app: Flask, app_engine: Engine) -> None:
    add_campaign(app_engine, mixed_instrument(), "spring")
    client = signed_in(app, app_engine)
    base = {"name": "Again", "instrument": "mixed:1", "stage": "onboarding", "channel": "web"}
    base |= {"access": "open"}
    taken = post_form(
        client, "/studio/campaigns/new", "/studio/campaigns/new", base | {"key": "spring"}
    )
    assert taken.status_code == 422
    assert "exists already" in text_of(taken)
    bad_key = post_form(
        client, "/studio/campaigns/new", "/studio/campaigns/new", base | {"key": "Bad Key!"}
    )
    assert bad_key.status_code == 422
    assert "is not a valid key" in text_of(bad_key)
    backwards = base | {
        "key": "back",
        "opens_at": "2026-09-02T00:00",
        "closes_at": "2026-09-01T00:00",
    }
    reply = post_form(client, "/studio/campaigns/new", "/studio/campaigns/new", backwards)
    assert "close" in text_of(reply)
    assert reply.status_code == 422
    missing = post_form(client, "/studio/campaigns/new", "/studio/campaigns/new", {"key": "x"})
    assert missing.status_code == 422
    assert 'aria-invalid="true"' in missing.get_data(as_text=True)
    with read_session(app_engine) as session:
        assert [row.key for row in campaigns.list_campaigns(session)] == ["spring"]


def test_open_and_close(app: Flask, app_engine: Engine) -> None:
    key = add_campaign(app_engine, mixed_instrument(), "spring")
    client = signed_in(app, app_engine)
    page = f"/studio/campaigns/{key}"
    closed = post_form(client, page, f"{page}/close")
    assert closed.status_code == 303
    campaign = stored_campaign(app_engine, key)
    assert campaign is not None
    assert campaign.state() == "closed"
    assert "Closed" in text_of(client.get(page))
    assert post_form(client, page, f"{page}/open").status_code == 303
    campaign = stored_campaign(app_engine, key)
    assert campaign is not None
    assert campaign.state() == "open"
    assert campaign.closes_at is None
    assert client.post(f"{page}/close").status_code == 400  # no CSRF token
    campaign = stored_campaign(app_engine, key)
    assert campaign is not None
    assert campaign.state() == "open"


def read_links(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def test_invitations_by_count_download_working_links(app: Flask, app_engine: Engine) -> None:
    key = add_campaign(app_engine, mixed_instrument(), "spring")
    client = signed_in(app, app_engine)
    page = f"/studio/campaigns/{key}"
    reply = post_form(client, page, f"{page}/invitations", {"count": "3", "segment": "enterprise"})
    assert reply.status_code == 200
    assert reply.mimetype == "text/csv"
    assert "attachment" in reply.headers["Content-Disposition"]
    assert reply.headers["Cache-Control"] == "no-store"
    links = read_links(reply.data)
    assert len(links) == 3
    assert {row["segment"] for row in links} == {"enterprise"}
    assert all(row["link"].startswith(app.config["GAPMETER_BASE_URL"] + "/i/") for row in links)
    with read_session(app_engine) as session:
        for row in links:
            found = find_invitation(session, row["link"].rsplit("/", 1)[1])
            assert found is not None
            assert found.segment == "enterprise"
    assert "0 of 3 invitations used" in text_of(client.get(page))
    refused = post_form(client, page, f"{page}/invitations", {"count": "0", "segment": "consumer"})
    assert refused.status_code == 422
    assert invitation_count(app_engine) == 3


def test_invitations_from_a_file_are_all_or_nothing(app: Flask, app_engine: Engine) -> None:
    key = add_campaign(app_engine, mixed_instrument(), "spring")
    client = signed_in(app, app_engine)
    page = f"/studio/campaigns/{key}"
    bad = 'segment,region\nconsumer,north\nplanets,=HYPERLINK("x")\n,south\n'
    reply = post_form(
        client, page, f"{page}/invitations/file", {"respondents": upload(bad, "r.csv")}
    )
    assert reply.status_code == 422
    problems = (
        reply.get_data(as_text=True).split('<table class="problems">')[1].split("</table>")[0]
    )
    assert '<td class="num">3</td>' in problems
    assert "planets" in problems
    assert '<td class="num">4</td>' in problems
    assert invitation_count(app_engine) == 0
    good = 'segment,region\nconsumer,north\nenterprise,"=HYPERLINK(""http://x"")"\n'
    reply = post_form(
        client, page, f"{page}/invitations/file", {"respondents": upload(good, "r.csv")}
    )
    assert reply.status_code == 200
    links = read_links(reply.data)
    assert [row["segment"] for row in links] == ["consumer", "enterprise"]
    assert links[1]["region"] == '\'=HYPERLINK("http://x")'  # neutralised for spreadsheets
    assert invitation_count(app_engine) == 2


def test_fielding_counts_by_segment_and_day(app: Flask, app_engine: Engine) -> None:
    instrument = mixed_instrument()
    key = add_campaign(app_engine, instrument, "spring")
    client = signed_in(app, app_engine)
    page = f"/studio/campaigns/{key}"
    start = datetime(2026, 3, 2, 20, tzinfo=UTC)  # 20:00 UTC: the 5th response is on day two
    records = random_records(instrument, 5, start=start) + random_records(
        instrument, 2, seed=8, segment="enterprise", start=start + timedelta(days=3)
    )
    data = {"responses": upload(table_bytes(instrument, records), "r.csv")}
    assert post_form(client, page, f"{page}/import", data).status_code == 303
    html = client.get(page).get_data(as_text=True)
    fielding = " ".join(html.split('id="fielding"')[1].split("</section>")[0].split())
    assert "<strong>7</strong> responses so far" in fielding
    assert '<th scope="row">consumer</th><td class="num">5</td>' in fielding
    assert '<th scope="row">enterprise</th><td class="num">2</td>' in fielding
    for day, count in (("2026-03-02", 4), ("2026-03-03", 1), ("2026-03-05", 2)):
        assert f'{day}</time></th><td class="num">{count}</td>' in fielding, day
    assert fielding.index("2026-03-05") < fielding.index("2026-03-02")  # newest first


@pytest.mark.parametrize("role", ["manager", None])
def test_campaign_actions_refuse_other_roles(
    app: Flask, app_engine: Engine, role: str | None
) -> None:
    key = add_campaign(app_engine, mixed_instrument(), "spring", opens_in=timedelta(days=-1))
    client = signed_in(app, app_engine, role) if role else app.test_client()
    page = f"/studio/campaigns/{key}"
    for url, data in (
        (f"{page}/close", {}),
        (f"{page}/invitations", {"count": "2", "segment": "consumer"}),
        ("/studio/campaigns/new", {"key": "x", "name": "x", "instrument": "mixed:1"}),
    ):
        reply = post_form(client, "/login", url, data)
        if role:
            assert reply.status_code == 403, url
        else:
            assert reply.status_code == 303, url
            assert reply.headers["Location"].startswith("/login")
    campaign = stored_campaign(app_engine, key)
    assert campaign is not None
    assert campaign.state(utcnow()) == "open"
    assert invitation_count(app_engine) == 0
