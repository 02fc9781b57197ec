"""The database briefly unavailable under a real gunicorn server: respondents who press Submit
get a clear 503 "try again" page with every answer kept, not a stack trace; pressing again once
the database is back stores their response once; nothing acknowledged before is lost.

SQLite: the test holds an exclusive lock on the database file (``BEGIN EXCLUSIVE``), so every
write waits out the busy timeout and fails. PostgreSQL: the server is shared and cannot be
stopped, so the app reaches it through a TCP proxy the test cuts (connections closed, new ones
refused) and restores.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from surveys.db import make_engine
from surveys.instrument import Instrument
from tests.load.conftest import Live, fresh_postgres_database, live_server
from tests.load.live import prepare
from tests.load.loadgen import (
    TIMEOUT,
    Generator,
    audit,
    expected,
    form_values,
    page_of,
    random_answers,
    walk_to_last_page,
)
from tests.load.proxy import TcpProxy
from tests.webapp.conftest import SurveyClient, make_app
from webapp.forms.i18n import ui
from webapp.respond import caches, routes

pytestmark = pytest.mark.slow

BEFORE = 4  # form respondents and API posts acknowledged before the outage (each)
BLOCKED = 3  # browsers that press Submit during it
KEPT_NOTICES = (ui("busy_saving", "en"), ui("busy_kept", "en"))


@pytest.fixture(params=["sqlite", "postgresql"])
def outage(
    request: pytest.FixtureRequest, tmp_path: Path, service_quality_instrument: Instrument
) -> Iterator[tuple[Live, Callable[[], AbstractContextManager[None]]]]:
    """The live server and a context manager during which its database is unavailable."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outage.db'}"
        with live_server(url, tmp_path / "instance", service_quality_instrument) as live:
            yield live, partial(locked_sqlite, str(make_url(url).database))
        return
    with fresh_postgres_database() as url:
        parsed = make_url(url)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432)).start()
        app_url = parsed.set(host="127.0.0.1", port=proxy.port)
        try:
            with live_server(
                url,
                tmp_path / "instance",
                service_quality_instrument,
                app_db_url=app_url.render_as_string(hide_password=False),
            ) as live:
                yield live, partial(cut_proxy, proxy)
        finally:
            proxy.close()


@contextmanager
def locked_sqlite(path: str) -> Iterator[None]:
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def cut_proxy(proxy: TcpProxy) -> Iterator[None]:
    proxy.cut()
    try:
        yield
    finally:
        proxy.restore()


def test_database_unavailable_keeps_answers_and_loses_nothing(
    outage: tuple[Live, Callable[[], AbstractContextManager[None]]],
) -> None:
    live, unavailable = outage
    setup = live.setup
    leg = live.server.db_url.split(":")[0]
    generator = Generator(live.server.url, live.instrument, seed=11)
    survey = f"/s/{setup.open_key}"
    before = [partial(generator.respond, survey, number) for number in range(BEFORE)]
    before += [
        partial(generator.post_api, setup.open_key, setup.api_key, setup.api_key_id, number)
        for number in range(BEFORE)
    ]
    generator.run(before, threads=4)
    assert generator.acked == 2 * BEFORE, generator.unexpected

    given = [random_answers(live.instrument, random.Random(f"blocked{n}")) for n in range(BLOCKED)]
    walks = [walk_to_last_page(live.server.url, survey, answers) for answers in given]
    api_body = {"answers": {k: int(v) if v.isdecimal() else v for k, v in given[0].items()}}
    api_headers = {"Authorization": f"Bearer {setup.api_key}", "Idempotency-Key": "outage-1"}
    api_url = f"{live.server.url}/api/v1/campaigns/{setup.open_key}/responses"

    def submit(index: int) -> requests.Response:
        page, browser, data = walks[index]
        return browser.post(
            live.server.url + str(page.action), data=data, timeout=TIMEOUT, allow_redirects=False
        )

    with unavailable(), ThreadPoolExecutor(max_workers=BLOCKED + 1) as pool:
        api_reply = pool.submit(
            requests.post, api_url, json=api_body, headers=api_headers, timeout=TIMEOUT
        )
        replies = list(pool.map(submit, range(BLOCKED)))
        api_during = api_reply.result()
        during_outage = audit(live.engine, live.instrument, generator.outcomes)

    print(  # noqa: T201 - the counts are this run's report (pytest -s)
        f"\n[database unavailable, {leg}] submit statuses {[r.status_code for r in replies]}, "
        f"API {api_during.status_code}; stored during the outage {during_outage.responses}; "
        f"page re-rendered {sum(KEPT_NOTICES[0] in r.text for r in replies)}, "
        f"try-again form {sum(KEPT_NOTICES[1] in r.text for r in replies)}"
    )
    for reply, answers in zip(replies, given, strict=True):
        assert reply.status_code == 503, reply.text[:500]
        assert reply.headers["Retry-After"].isdigit()
        assert "Traceback" not in reply.text
        assert any(notice in reply.text for notice in KEPT_NOTICES), reply.text[:2000]
        kept = form_values(page_of(reply))
        assert {name: kept.get(name) for name in answers} == answers  # every answer kept
    if leg == "sqlite":  # only writes are locked: the page itself is drawn again
        assert all(ui("busy_saving", "en") in reply.text for reply in replies)
    assert api_during.status_code == 503, api_during.text[:500]
    assert api_during.headers["Content-Type"].startswith("application/problem+json")
    assert during_outage.ok  # nothing acknowledged lost, nothing half-stored
    assert during_outage.responses == 2 * BEFORE  # and nothing stored at a 503
    assert "Traceback" not in live.server.log()  # an outage is logged in one line, not a bug

    # The database is back: each respondent presses the button on the page they were shown.
    live.server.wait_ready()
    again = []
    for reply, (_, browser, _) in zip(replies, walks, strict=True):
        shown = page_of(reply)
        data = {**form_values(shown), "gm_nav": "submit"}
        action = live.server.url + str(shown.action)
        again.append(browser.post(action, data=data, timeout=TIMEOUT, allow_redirects=False))
    assert [reply.status_code for reply in again] == [303] * BLOCKED
    api_again = requests.post(api_url, json=api_body, headers=api_headers, timeout=TIMEOUT)
    assert api_again.status_code == 201
    assert api_again.headers.get("Idempotent-Replayed") != "true"  # nothing stored at the 503

    resent = [expected(live.instrument, "form", answers) for answers in given]
    resent.append(expected(live.instrument, "api", given[0], f"api:{setup.api_key_id}:outage-1"))
    for outcome in resent:
        outcome.acked = True
    final = audit(live.engine, live.instrument, [*generator.outcomes, *resent])
    assert final.ok, final
    assert final.responses == 2 * BEFORE + BLOCKED + 1


def test_a_survey_that_cannot_be_loaded_gets_a_try_again_form_with_every_answer(
    tmp_path: Path, service_quality_instrument: Instrument
) -> None:
    """PostgreSQL unreachable and this process has not shown the survey lately (so it cannot
    draw the page): the reply is a 503 form that carries every posted field, CSRF token
    included, and pressing Try again once the database is back stores the response once."""
    with fresh_postgres_database() as url:
        setup = prepare(url, tokens=1)
        parsed = make_url(url)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432)).start()
        app_url = parsed.set(host="127.0.0.1", port=proxy.port)
        app = make_app(app_url.render_as_string(hide_password=False), tmp_path)
        try:
            browser = SurveyClient(app.test_client())
            answers = random_answers(service_quality_instrument, random.Random("cold"))
            page = browser.open_survey(f"/s/{setup.open_key}")
            while page.page_number()[0] < page.page_number()[1]:
                page = browser.post(page, {name: answers[name] for name in page.slots})
            last = {name: answers[name] for name in page.slots}
            routes._recent.clear()  # a worker that never showed this survey
            app.extensions[caches.CAMPAIGNS].forget(setup.open_key)
            with cut_proxy(proxy):
                reply = browser.post(page, last, nav="submit")
            assert reply.status == 503
            assert ui("busy_kept", "en") in reply.html
            assert reply.response.headers["Retry-After"].isdigit()
            assert {name: reply.hidden.get(name) for name in answers} == answers
            assert reply.hidden["csrf_token"] == page.hidden["csrf_token"]
            again = browser.post(reply, nav="submit")
            assert again.status == 303
            engine = make_engine(url)
            try:
                sent = expected(service_quality_instrument, "form", answers)
                sent.acked = True
                stored = audit(engine, service_quality_instrument, [sent])
            finally:
                engine.dispose()
            assert stored.ok, stored
            assert stored.responses == 1
        finally:
            app.extensions["gapmeter.engine"].dispose()
            proxy.close()
