"""Intake under load and a crash in the middle of it, against a real gunicorn server
(security.md §1.5): an acknowledged submission is stored exactly once, a failed one is never
half-stored, and retries after the restart store nothing twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import pytest

from tests.load.conftest import Live
from tests.load.live import WORKERS
from tests.load.loadgen import Audit, Generator, Outcome, audit, summary

pytestmark = pytest.mark.slow

FORMS = 40  # respondents walking the 7 survey pages (8 requests each)
API_POSTS = 120
THREADS = 8
#: The server is killed once this many submissions are acknowledged.
KILL_AFTER = 60


def jobs(generator: Generator, live: Live) -> list[Callable[[], Outcome]]:
    """Form respondents and API posts interleaved, so both are in flight at the kill."""
    setup = live.setup
    respond = [
        partial(generator.respond, f"/s/{setup.open_key}", number) for number in range(FORMS)
    ]
    post = [
        partial(generator.post_api, setup.open_key, setup.api_key, setup.api_key_id, number)
        for number in range(API_POSTS)
    ]
    mixed: list[Callable[[], Outcome]] = []
    for index in range(max(len(respond), len(post))):
        mixed += respond[index : index + 1] + post[3 * index : 3 * index + 3]
    return mixed + post[3 * len(respond) :]


def report(label: str, result: Audit) -> str:
    return (
        f"{label}: {result.responses} stored ({result.by_kind['form']} form, "
        f"{result.by_kind['api']} API); unacknowledged but stored complete "
        f"{result.failed_stored}; unacknowledged and not stored {result.failed_not_stored}; "
        f"half-stored {len(result.incomplete)}; orphan answers {result.orphan_answers}; "
        f"acknowledged missing {len(result.acked_missing)}; duplicated "
        f"{len(result.acked_duplicated)}; unknown {len(result.unknown)}"
    )


def test_kill_9_during_load_loses_and_doubles_nothing(live: Live) -> None:
    """SIGKILL the gunicorn master and workers while form respondents and API clients submit,
    audit the database while the server is down, restart it and let every client retry what
    got no reply. Before the restart: every acknowledged submission is stored once and every
    stored response is complete. After: every submission stored exactly once."""
    server_up = threading.Event()
    server_up.set()
    generator = Generator(
        live.server.url, live.instrument, seed=7, wait_up=lambda: server_up.wait(60)
    )
    crash: dict[str, object] = {}
    finished = threading.Event()

    def kill_and_restart() -> None:
        while generator.acked < KILL_AFTER and not finished.is_set():
            time.sleep(0.005)
        if finished.is_set():
            return
        server_up.clear()
        crash["killed"] = live.server.kill()
        time.sleep(0.3)  # replies already in client buffers are read and counted
        outcomes = list(generator.outcomes)
        crash["acked"] = sum(outcome.acked for outcome in outcomes)
        crash["started"] = len(outcomes)
        crash["audit"] = audit(live.engine, live.instrument, outcomes)
        live.server.start()
        server_up.set()

    controller = threading.Thread(target=kill_and_restart)
    controller.start()
    try:
        outcomes = generator.run(jobs(generator, live), THREADS)
    finally:
        finished.set()
        server_up.set()
        controller.join(timeout=60)

    assert "audit" in crash, "the load ended before the kill"
    at_crash = crash["audit"]
    assert isinstance(at_crash, Audit)
    final = audit(live.engine, live.instrument, outcomes)
    counts = summary(outcomes)
    print(  # noqa: T201 - the counts are this run's report (pytest -s)
        f"\n[crash test, {live.server.db_url.split(':')[0]}] killed pids {crash['killed']} after "
        f"{crash['acked']} acknowledged of {crash['started']} started; "
        f"{counts['submit_replies_lost']} submissions lost their reply and were retried "
        f"({counts['api_replayed']} API retries answered as replays)\n"
        f"  {report('at the crash', at_crash)}\n  {report('after restart', final)}"
    )
    assert len(crash["killed"]) == 1 + WORKERS  # type: ignore[arg-type]
    assert live.server.starts == 2
    # While the server was down: what was acknowledged is there once, nothing is half-stored.
    assert at_crash.ok, at_crash
    assert at_crash.responses >= crash["acked"]  # type: ignore[operator]
    # After the restart and the retries: every submission acknowledged, each stored once.
    assert generator.unexpected == []
    assert counts["acked"] == FORMS + API_POSTS
    assert final.ok, final
    assert final.responses == FORMS + API_POSTS
    assert final.by_kind == {"form": FORMS, "api": API_POSTS}
