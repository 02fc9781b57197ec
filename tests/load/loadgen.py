"""A load generator over real HTTP: respondents walking the survey form as a browser does, and
API clients posting with an ``Idempotency-Key``; then an audit of what the database holds.

A form respondent GETs the first page, reads its hidden inputs (CSRF token, signed form state,
answers of earlier pages) with ``tests.webapp.conftest.read_page``, answers the page's fields and
POSTs it, page after page, until Submit answers ``303``. An API client POSTs one complete
response and expects ``201``. Answers are random, so every submission's payload is distinct
and can be found in the database by its hash (web) or its idempotency key (API).

A request that fails at the connection (the server was killed) is retried as a browser or a
client would, once the ``wait_up`` callback says the server is back: the same form with the same
hidden state, the same API body with the same key. Retries must never store twice.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import requests
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.test import TestResponse

from surveys.answers import AnswerSet, answer_rows, answers_from_rows, parse_answers
from surveys.instrument import Instrument, Measure
from surveys.models import Answer, Response
from tests.webapp.conftest import Page, read_page
from webapp.respond.state import payload_hash

TIMEOUT = 30.0
#: Free-text answers: plain, with markup and line breaks, and in Chinese.
COMMENTS = ("Quick and friendly.", "<b>Slow</b> & late\nbut polite", "服務很好，謝謝！")
MAX_ATTEMPTS = 6


class HttpReply:
    """A ``requests`` reply shaped like the test client's (what ``read_page`` reads)."""

    def __init__(self, reply: requests.Response) -> None:
        self.status_code = reply.status_code
        self.headers = reply.headers
        self.text = reply.text

    def get_data(self, as_text: bool = True) -> str:
        return self.text


def page_of(reply: requests.Response) -> Page:
    return read_page(cast(TestResponse, HttpReply(reply)))


def random_answers(instrument: Instrument, rng: random.Random) -> dict[str, str]:
    """A complete, valid response as form values: a random point (sometimes "not applicable")
    for every scaled slot and a random split of the allocation's points."""
    answers: dict[str, str] = {}
    allocation = [slot.name for slot in instrument.slots() if slot.item is None]
    for slot in instrument.slots():
        if slot.item is None:
            continue
        item = instrument.item(slot.item)
        if slot.measure == Measure.CHOICE:
            answers[slot.name] = rng.choice(item.options).key
            continue
        if slot.measure == Measure.TEXT:
            comment = f"{rng.choice(COMMENTS)} #{rng.randrange(10**6)}"
            answers[slot.name] = comment[: item.max_length]
            continue
        scale = instrument.scale_of(item)
        if scale.not_applicable and rng.random() < 0.05:
            answers[slot.name] = "NA"
        else:
            answers[slot.name] = str(rng.choice(scale.values))
    if allocation:
        total = instrument.importance.total if instrument.importance else 100
        cuts = sorted(rng.randint(0, total) for _ in range(len(allocation) - 1))
        shares = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        answers.update(zip(allocation, map(str, shares), strict=True))
    return answers


def walk_to_last_page(
    base_url: str, path: str, answers: Mapping[str, str]
) -> tuple[Page, requests.Session, dict[str, str]]:
    """A browser that opens the survey at ``path`` and answers every page but the last; returns
    the last page, the browser (its session cookie) and the form it will post on Submit."""
    browser = requests.Session()
    page = page_of(browser.get(base_url + path, timeout=TIMEOUT))
    while True:
        assert page.status == 200, page.html[:500]
        data = {**page.hidden, **{name: answers[name] for name in page.slots}}
        number, total = page.page_number()
        if number == total:
            return page, browser, {**data, "gm_nav": "submit"}
        reply = browser.post(
            base_url + str(page.action), data={**data, "gm_nav": "next"}, timeout=TIMEOUT
        )
        page = page_of(reply)


def form_values(page: Page) -> dict[str, str]:
    """What a browser posts back from ``page`` as it stands: hidden inputs, checked radios,
    text areas and numbers (what the respondent sees filled in)."""
    return {**page.hidden, **page.checked, **page.texts, **page.numbers}


@dataclass
class Outcome:
    """One submission: how it is found in the database, what it should hold, what happened."""

    kind: str  # "form" or "api"
    key: str  # payload hash (form) or stored idempotency key (API)
    answers: AnswerSet
    rows: int  # answer rows a complete response has
    acked: bool = False
    status: int | None = None
    submit_failures: int = 0  # final POSTs that got no reply (unknown outcome)
    failures: list[str] = field(default_factory=list)
    replayed: bool = False


def expected(instrument: Instrument, kind: str, given: Mapping[str, str], key: str = "") -> Outcome:
    """The outcome of sending ``given``: found by its payload hash (form) or ``key`` (API)."""
    answers = parse_answers(instrument, dict(given))
    found_by = payload_hash(answers) if kind == "form" else key
    return Outcome(kind, found_by, answers, len(answer_rows(instrument, answers)))


class Generator:
    """Runs respondents and API clients on a thread pool against ``base_url``."""

    def __init__(
        self,
        base_url: str,
        instrument: Instrument,
        *,
        seed: int = 1,
        wait_up: Callable[[], bool] | None = None,
    ) -> None:
        self.base_url = base_url
        self.instrument = instrument
        self.seed = seed
        self.wait_up = wait_up
        self.outcomes: list[Outcome] = []
        self.acked = 0
        self.unexpected: list[str] = []  # statuses or errors no respondent should see
        self._lock = threading.Lock()

    # One request, retried after a connection failure ------------------------------------------
    def _send(
        self, outcome: Outcome, step: str, call: Callable[[], requests.Response]
    ) -> requests.Response | None:
        for _ in range(MAX_ATTEMPTS):
            try:
                return call()
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                outcome.failures.append(f"{step}: {type(error).__name__}")
                if step == "submit":
                    outcome.submit_failures += 1
                if self.wait_up is None or not self.wait_up():
                    return None
        return None

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    def _acknowledge(self, outcome: Outcome, status: int) -> None:
        with self._lock:
            outcome.acked, outcome.status = True, status
            self.acked += 1

    def _unexpected(self, outcome: Outcome, what: str) -> None:
        outcome.failures.append(what)
        with self._lock:
            self.unexpected.append(what)

    # A respondent on the survey pages ---------------------------------------------------------
    def respond(self, path: str, number: int) -> Outcome:
        """Walk every page of the survey at ``path`` and submit; the outcome says what came."""
        rng = random.Random(f"{self.seed}:form:{number}")
        given = random_answers(self.instrument, rng)
        outcome = expected(self.instrument, "form", given)
        self._record(outcome)
        with requests.Session() as browser:
            url = self.base_url + path
            reply = self._send(outcome, "open", lambda: browser.get(url, timeout=TIMEOUT))
            while reply is not None and reply.status_code == 200:
                page = page_of(reply)
                if page.action is None:
                    break
                last = page.page_number()[0] == page.page_number()[1]
                data = {**page.hidden, **{name: given[name] for name in page.slots}}
                data["gm_nav"] = "submit" if last else "next"
                action = self.base_url + page.action
                reply = self._send(
                    outcome,
                    "submit" if last else "page",
                    lambda action=action, data=data: browser.post(
                        action, data=data, timeout=TIMEOUT, allow_redirects=False
                    ),
                )
                if reply is not None and last and reply.status_code == 303:
                    self._acknowledge(outcome, 303)
                    return outcome
            if reply is not None:
                outcome.status = reply.status_code
                self._unexpected(outcome, f"form: {reply.status_code}")
        return outcome

    # An API client -----------------------------------------------------------------------------
    def post_api(self, campaign_key: str, api_key: str, api_key_id: int, number: int) -> Outcome:
        rng = random.Random(f"{self.seed}:api:{number}")
        given = random_answers(self.instrument, rng)
        header = str(uuid.UUID(int=rng.getrandbits(128)))
        outcome = expected(self.instrument, "api", given, f"api:{api_key_id}:{header}")
        self._record(outcome)
        body = {"answers": {name: int(v) if v.isdecimal() else v for name, v in given.items()}}
        url = f"{self.base_url}/api/v1/campaigns/{campaign_key}/responses"
        headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": header}
        reply = self._send(
            outcome,
            "submit",
            lambda: requests.post(url, json=body, headers=headers, timeout=TIMEOUT),
        )
        if reply is not None and reply.status_code == 201:
            outcome.replayed = reply.headers.get("Idempotent-Replayed") == "true"
            self._acknowledge(outcome, 201)
        elif reply is not None:
            outcome.status = reply.status_code
            self._unexpected(outcome, f"api: {reply.status_code} {reply.text[:200]}")
        return outcome

    def run(self, jobs: Iterable[Callable[[], Outcome]], threads: int) -> list[Outcome]:
        """Run every job on ``threads`` threads; the outcomes in the order they began."""
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(job) for job in jobs]
            for future in futures:
                future.result()
        return list(self.outcomes)


# What the database holds ------------------------------------------------------------------------
@dataclass
class Audit:
    """The stored responses against the outcomes (see ``audit``)."""

    responses: int
    orphan_answers: int
    incomplete: list[str]  # stored responses whose answers are not exactly the ones sent
    unknown: list[str]  # stored responses no outcome sent
    acked_missing: list[str]
    acked_duplicated: list[str]
    failed_stored: int  # not acknowledged, yet stored completely (the ack was lost)
    failed_not_stored: int
    by_kind: dict[str, int]

    @property
    def ok(self) -> bool:
        return not (
            self.orphan_answers
            or self.incomplete
            or self.unknown
            or self.acked_missing
            or self.acked_duplicated
        )


def audit(engine: Engine, instrument: Instrument, outcomes: Iterable[Outcome]) -> Audit:
    """Every acknowledged submission stored exactly once; every stored response complete (its
    answers exactly those sent) and sent by someone; no answer rows without a response."""
    wanted = {outcome.key: outcome for outcome in outcomes}
    with Session(engine) as session:
        stored = list(session.scalars(select(Response).options(selectinload(Response.answers))))
        orphans = session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(~Answer.response_id.in_(select(Response.id)))
        )
    counts: dict[str, int] = {}
    incomplete, unknown = [], []
    by_kind = {"form": 0, "api": 0}
    for response in stored:
        key = response.idempotency_key if response.source == "api" else response.payload_hash
        outcome = wanted.get(str(key))
        if outcome is None:
            unknown.append(f"{response.uid} ({response.source})")
            continue
        counts[outcome.key] = counts.get(outcome.key, 0) + 1
        by_kind[outcome.kind] += 1
        if (
            len(response.answers) != outcome.rows
            or answers_from_rows(instrument, response.answers) != outcome.answers
        ):
            incomplete.append(f"{response.uid}: {len(response.answers)} of {outcome.rows} rows")
    acked = [o for o in wanted.values() if o.acked]
    failed = [o for o in wanted.values() if not o.acked]
    return Audit(
        responses=len(stored),
        orphan_answers=int(orphans or 0),
        incomplete=incomplete,
        unknown=unknown,
        acked_missing=[o.key for o in acked if counts.get(o.key, 0) == 0],
        acked_duplicated=[o.key for o in wanted.values() if counts.get(o.key, 0) > 1],
        failed_stored=sum(1 for o in failed if counts.get(o.key, 0) == 1),
        failed_not_stored=sum(1 for o in failed if counts.get(o.key, 0) == 0),
        by_kind=by_kind,
    )


def summary(outcomes: Iterable[Outcome]) -> Mapping[str, Any]:
    """Counts for the report: submissions, acknowledged, retried after a lost reply."""
    items = list(outcomes)
    return {
        "submissions": len(items),
        "acked": sum(o.acked for o in items),
        "submit_replies_lost": sum(o.submit_failures > 0 for o in items),
        "api_replayed": sum(o.replayed for o in items),
    }
