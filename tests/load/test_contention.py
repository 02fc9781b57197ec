"""Contention against a real gunicorn server (2 workers, real sockets, SQLite and PostgreSQL):
one invitation submitted by 50 browsers at once, one Idempotency-Key retried 50 times at once
(security.md R6, R7). tests/webapp/test_respond.py covers the first through the test client."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.answers import answers_from_rows, parse_answers
from surveys.models import Campaign, Invitation, Response
from surveys.services.invitations import token_hash
from tests.load.conftest import Live
from tests.load.loadgen import TIMEOUT, random_answers, walk_to_last_page
from webapp.forms.i18n import ui

pytestmark = pytest.mark.slow

CLIENTS = 50


def test_one_invitation_from_fifty_browsers_at_once_is_stored_once(module_live: Live) -> None:
    """50 browsers, each with its own session and different answers, press Submit on the same
    invitation at the same moment: one 303, 49 × 409 "already answered", one stored response
    holding the winner's answers, the invitation used."""
    live = module_live
    token = live.setup.tokens[0]
    given = [random_answers(live.instrument, random.Random(turn)) for turn in range(CLIENTS)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        walks = [pool.submit(walk_to_last_page, live.server.url, f"/i/{token}", a) for a in given]
        ready = [walk.result() for walk in walks]
    start = threading.Barrier(CLIENTS)

    def submit(index: int) -> requests.Response:
        page, browser, data = ready[index]
        start.wait(timeout=60)
        return browser.post(
            live.server.url + str(page.action),
            data=data,
            timeout=TIMEOUT,
            allow_redirects=False,
        )

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        replies = list(pool.map(submit, range(CLIENTS)))
    statuses = sorted(reply.status_code for reply in replies)
    print(  # noqa: T201 - the counts are this run's report (pytest -s)
        f"\n[same token x{CLIENTS}, {live.server.db_url.split(':')[0]}] statuses {statuses}"
    )
    assert statuses == [303] + [409] * (CLIENTS - 1)
    used = ui("used", "en")
    assert all(used in reply.text for reply in replies if reply.status_code == 409)
    winner = next(index for index, reply in enumerate(replies) if reply.status_code == 303)

    with Session(live.engine) as session:
        invitation = session.scalars(
            select(Invitation).where(Invitation.token_hash == token_hash(token))
        ).one()
        # The module's server is shared: only this campaign's rows are this test's.
        stored = session.scalars(
            select(Response).where(Response.campaign_id == invitation.campaign_id)
        ).all()
        assert len(stored) == 1
        assert stored[0].invitation_id == invitation.id
        assert invitation.used_at is not None
        expected = parse_answers(live.instrument, given[winner])
        assert answers_from_rows(live.instrument, stored[0].answers) == expected


def test_one_idempotency_key_retried_fifty_times_at_once_is_stored_once(module_live: Live) -> None:
    """The same API body with the same Idempotency-Key 50 times at once: every reply 201 with
    the same response id, one of them the original and 49 replays, one row with the answers."""
    live = module_live
    setup = live.setup
    answers = random_answers(live.instrument, random.Random("idempotent"))
    body = {"answers": {name: int(v) if v.isdecimal() else v for name, v in answers.items()}}
    headers = {"Authorization": f"Bearer {setup.api_key}", "Idempotency-Key": "retry-me-0001"}
    url = f"{live.server.url}/api/v1/campaigns/{setup.open_key}/responses"
    start = threading.Barrier(CLIENTS)

    def post(_: int) -> requests.Response:
        start.wait(timeout=60)
        return requests.post(url, json=body, headers=headers, timeout=TIMEOUT)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        replies = list(pool.map(post, range(CLIENTS)))
    statuses = [reply.status_code for reply in replies]
    replayed = [reply.headers.get("Idempotent-Replayed") == "true" for reply in replies]
    print(  # noqa: T201 - the counts are this run's report (pytest -s)
        f"\n[same Idempotency-Key x{CLIENTS}, {live.server.db_url.split(':')[0]}] "
        f"statuses {sorted(set(statuses))}, replays {sum(replayed)}"
    )
    assert statuses == [201] * CLIENTS, [reply.text[:200] for reply in replies]
    ids = {reply.json()["id"] for reply in replies}
    assert len(ids) == 1
    assert sum(replayed) == CLIENTS - 1
    with Session(live.engine) as session:
        # The module's server is shared: only the open campaign's rows are this test's.
        in_campaign = select(Response).join(Campaign).where(Campaign.key == setup.open_key)
        assert session.scalar(select(func.count()).select_from(in_campaign.subquery())) == 1
        stored = session.scalars(in_campaign).one()
        assert stored.uid in ids
        assert stored.idempotency_key == f"api:{setup.api_key_id}:retry-me-0001"
        expected = parse_answers(live.instrument, answers)
        assert answers_from_rows(live.instrument, stored.answers) == expected
