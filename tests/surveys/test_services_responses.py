"""The intake: one response per invitation and per idempotency key under real concurrency, all or
nothing, acknowledged only after commit; and the bulk path (security.md R5, R6, R7, R9)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import OperationalError

from instruments import LIBRARY_DIR
from surveys import db
from surveys.answers import AnswerSet, answer_rows, answers_from_rows, parse_answers
from surveys.clock import utcnow
from surveys.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    make_engine,
    read_session,
    write_connection,
    write_session,
)
from surveys.demo import generate_records
from surveys.errors import (
    AlreadyAnsweredError,
    CampaignClosedError,
    IdempotencyConflictError,
    NotFoundError,
)
from surveys.instrument import Instrument
from surveys.instrument_loader import load_instrument_file
from surveys.models import Access, Invitation, Response, Source
from surveys.response_table import ResponseRecord
from surveys.services.campaigns import get_campaign
from surveys.services.instruments import get_instrument
from surveys.services.invitations import issue_invitations
from surveys.services.responses import (
    ANSWER_ROW,
    AnswerLayout,
    Submitted,
    response_records,
    store_records,
    submit_response,
)
from tests.surveys.conftest import add_campaign, count_rows

THREADS = 20

FULL = {
    "rel_a__expectation": "5",
    "rel_a__perception": "3",
    "emp_a__expectation": "NA",
    "emp_a__perception": "4",
    "overall": "4",
    "kind": "company",
    "comment": 'Prompt ‮reply😀 "quoted", =1+2',
    "reliability__importance": "70",
    "empathy__importance": "30",
}


def answers_of(instrument: Instrument, **raw: str) -> AnswerSet:
    return parse_answers(instrument, raw or FULL)


def invite(engine: Engine, campaign_key: str, segment: str = "small_business") -> str:
    with write_session(engine) as session:
        campaign = get_campaign(session, campaign_key)
        assert campaign is not None
        return issue_invitations(session, campaign, 1, segment)[0].token


def stored(engine: Engine) -> list[ResponseRecord]:
    with read_session(engine) as session:
        row = get_instrument(session, "small")
        assert row is not None
        return list(response_records(session, instrument_row=row))


def race(count: int, submit: Callable[[], Submitted]) -> list[Submitted | BaseException]:
    """Run ``submit`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    outcomes: list[Submitted | BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            outcome: Submitted | BaseException = submit()
        except BaseException as error:  # every outcome is examined by the test
            outcome = error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


# One submission ----------------------------------------------------------------------------------
def test_a_submission_stores_the_response_and_every_answer(
    engine: Engine, small: Instrument
) -> None:
    key = add_campaign(engine, small, segment=None)
    answers = answers_of(small)
    when = datetime(2026, 6, 1, 12, 30, 15, tzinfo=UTC)

    done = submit_response(
        engine,
        campaign_key=key,
        answers=answers,
        source=Source.WEB,
        submitted_at=when,
        duration_seconds=95,
        language="en",
    )

    assert done.replayed is False
    [record] = stored(engine)
    assert record.response_id == done.uid
    assert record.answers == answers
    assert record.submitted_at == when
    assert (record.segment, record.stage, record.channel) == ("enterprise", "after_sales", "web")
    assert count_rows(engine) == (1, 7)  # one row per item answered and per area
    with read_session(engine) as session:
        response = session.scalar(select(Response))
        assert response is not None
        assert (response.duration_seconds, response.language) == (95, "en")
        assert response.source == "web"


def test_uids_are_random_not_ordered(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small)
    uids = [
        submit_response(engine, campaign_key=key, answers=answers_of(small), source="api").uid
        for _ in range(12)
    ]
    assert len(set(uids)) == 12
    assert all(len(uid) >= 22 and not uid.startswith("-") for uid in uids)
    assert uids != sorted(uids)


@pytest.mark.parametrize(
    ("token_segment", "kind", "campaign_segment", "expected"),
    [
        ("small_business", "company", "consumer", "small_business"),
        (None, "company", "consumer", "enterprise"),
        (None, None, "consumer", "consumer"),
        (None, None, None, "unclassified"),
    ],
)
def test_segment_comes_from_invitation_then_answer_then_campaign(
    engine: Engine,
    small: Instrument,
    token_segment: str | None,
    kind: str | None,
    campaign_segment: str | None,
    expected: str,
) -> None:
    key = add_campaign(engine, small, segment=campaign_segment)
    token = invite(engine, key, token_segment) if token_segment else None
    raw = {"rel_a__expectation": "4", "rel_a__perception": "4"}
    if kind:
        raw["kind"] = kind

    submit_response(
        engine, campaign_key=key, answers=answers_of(small, **raw), source="web", token=token
    )

    assert stored(engine)[0].segment == expected


@pytest.mark.parametrize(
    ("opens", "closes", "reason"),
    [(timedelta(days=1), None, "not_open_yet"), (timedelta(days=-2), timedelta(days=-1), "closed")],
)
def test_a_campaign_that_is_not_open_refuses(
    engine: Engine,
    small: Instrument,
    opens: timedelta,
    closes: timedelta | None,
    reason: str,
) -> None:
    now = utcnow()
    key = add_campaign(
        engine, small, opens_at=now + opens, closes_at=now + closes if closes else None
    )

    with pytest.raises(CampaignClosedError) as error:
        submit_response(engine, campaign_key=key, answers=answers_of(small), source="web")

    assert error.value.reason == reason
    assert count_rows(engine) == (0, 0)


def test_invitations_are_checked(engine: Engine, small: Instrument) -> None:
    private = add_campaign(engine, small, access=Access.INVITATION)
    other = add_campaign(engine, small)
    token = invite(engine, other)
    answers = answers_of(small)

    with pytest.raises(NotFoundError, match="by personal invitation only"):
        submit_response(engine, campaign_key=private, answers=answers, source="web")
    with pytest.raises(NotFoundError, match="unknown invitation"):
        submit_response(engine, campaign_key=private, answers=answers, source="web", token=token)
    with pytest.raises(NotFoundError, match="unknown invitation"):
        submit_response(engine, campaign_key=other, answers=answers, source="web", token="x" * 32)
    for absurd in ("", "x" * 10_000):  # never hashed or looked up, still "unknown"
        with pytest.raises(NotFoundError, match="unknown invitation"):
            submit_response(engine, campaign_key=other, answers=answers, source="web", token=absurd)
    with pytest.raises(NotFoundError, match="no campaign"):
        submit_response(engine, campaign_key="missing", answers=answers, source="web")
    assert count_rows(engine) == (0, 0)


def test_an_invitation_answers_once(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small, access=Access.INVITATION)
    token = invite(engine, key)
    answers = answers_of(small)

    first = submit_response(engine, campaign_key=key, answers=answers, source="web", token=token)
    with pytest.raises(AlreadyAnsweredError):
        submit_response(engine, campaign_key=key, answers=answers, source="web", token=token)

    assert [record.response_id for record in stored(engine)] == [first.uid]
    with read_session(engine) as session:
        invitation = session.scalar(select(Invitation))
        assert invitation is not None
        assert invitation.used_at is not None


def test_an_idempotency_key_replays_the_first_response(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small)
    send: dict[str, Any] = {"campaign_key": key, "source": "api", "idempotency_key": "k-1"}

    first = submit_response(engine, answers=answers_of(small), payload_hash="h1", **send)
    again = submit_response(engine, answers=answers_of(small), payload_hash="h1", **send)
    with pytest.raises(IdempotencyConflictError):
        submit_response(engine, answers=answers_of(small), payload_hash="h2", **send)

    assert (again.uid, again.response_id, again.replayed) == (first.uid, first.response_id, True)
    assert count_rows(engine)[0] == 1


def test_a_replay_is_answered_even_after_the_campaign_closed(
    engine: Engine, small: Instrument
) -> None:
    key = add_campaign(engine, small)
    send: dict[str, Any] = {"campaign_key": key, "source": "api", "idempotency_key": "k-2"}
    first = submit_response(engine, answers=answers_of(small), **send)
    with write_session(engine) as session:
        campaign = get_campaign(session, key)
        assert campaign is not None
        campaign.closes_at = utcnow() - timedelta(seconds=1)

    assert submit_response(engine, answers=answers_of(small), **send).uid == first.uid


# Concurrency -------------------------------------------------------------------------------
def test_simultaneous_submissions_of_one_token_store_exactly_one(
    engine: Engine, small: Instrument
) -> None:
    """Two (here twenty) tabs submit one invitation at once: one is stored, the others are told
    it was already answered, and nothing else goes wrong."""
    key = add_campaign(engine, small, access=Access.INVITATION)
    token = invite(engine, key)

    outcomes = race(
        THREADS,
        lambda: submit_response(
            engine, campaign_key=key, answers=answers_of(small), source="web", token=token
        ),
    )

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Submitted": 1, "AlreadyAnsweredError": THREADS - 1}, outcomes
    assert count_rows(engine) == (1, 7)


def test_simultaneous_retries_with_one_key_store_one_and_agree(
    engine: Engine, small: Instrument
) -> None:
    key = add_campaign(engine, small)

    outcomes = race(
        THREADS,
        lambda: submit_response(
            engine,
            campaign_key=key,
            answers=answers_of(small),
            source="api",
            idempotency_key="same-key",
            payload_hash="same-body",
        ),
    )

    assert all(isinstance(outcome, Submitted) for outcome in outcomes), outcomes
    submitted = [outcome for outcome in outcomes if isinstance(outcome, Submitted)]
    assert len({outcome.uid for outcome in submitted}) == 1
    assert sum(not outcome.replayed for outcome in submitted) == 1
    assert count_rows(engine) == (1, 7)


# Atomicity ---------------------------------------------------------------------------------------
FAIL_ON_OVERALL = {
    "sqlite": [
        "CREATE TRIGGER fail_overall BEFORE INSERT ON answer WHEN NEW.item = 'overall' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_overall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.item = 'overall' THEN RAISE EXCEPTION 'injected failure'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER fail_overall BEFORE INSERT ON answer FOR EACH ROW "
        "EXECUTE FUNCTION fail_overall()",
    ],
}
REMOVE_FAILURE = {
    "sqlite": ["DROP TRIGGER fail_overall"],
    "postgresql": ["DROP TRIGGER fail_overall ON answer", "DROP FUNCTION fail_overall()"],
}


def test_a_failure_midway_through_the_answers_stores_nothing(
    engine: Engine, small: Instrument
) -> None:
    """The database refuses the third of seven answer rows: the response, the answers before
    it and the invitation claim all roll back, and a retry then succeeds."""
    key = add_campaign(engine, small, access=Access.INVITATION)
    token = invite(engine, key)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in FAIL_ON_OVERALL[dialect]:
            connection.exec_driver_sql(statement)
    answers = answers_of(small)

    with pytest.raises(Exception, match="injected failure"):
        submit_response(engine, campaign_key=key, answers=answers, source="web", token=token)

    assert count_rows(engine) == (0, 0)
    with read_session(engine) as session:
        assert session.scalar(select(Invitation.used_at)) is None
    with engine.begin() as connection:
        for statement in REMOVE_FAILURE[dialect]:
            connection.exec_driver_sql(statement)
    submit_response(engine, campaign_key=key, answers=answers, source="web", token=token)
    assert count_rows(engine) == (1, 7)


# SQLite settings ---------------------------------------------------------------------------------
def test_sqlite_connections_are_durable_and_writes_begin_immediate(
    sqlite_engine: Engine, small: Instrument
) -> None:
    pooled = make_engine(sqlite_engine.url.render_as_string(), pool_size=THREADS)
    connections = [pooled.connect() for _ in range(THREADS)]
    try:
        for connection in connections:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in (
                    "journal_mode",
                    "synchronous",
                    "busy_timeout",
                    "foreign_keys",
                    "wal_autocheckpoint",
                    "journal_size_limit",
                )
            }
            assert pragma["journal_mode"] == "wal"
            assert pragma["wal_autocheckpoint"] == db.SQLITE_WAL_AUTOCHECKPOINT_PAGES
            assert pragma["journal_size_limit"] == db.SQLITE_JOURNAL_SIZE_LIMIT
            assert pragma["synchronous"] == 2
            assert pragma["busy_timeout"] >= 5000
            assert pragma["foreign_keys"] == 1
    finally:
        for connection in connections:
            connection.close()
        pooled.dispose()

    key = add_campaign(sqlite_engine, small)
    statements: list[str] = []  # what SQLite ran, whichever way it was sent

    def trace(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    def untrace(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(sqlite_engine.pool, "checkout", trace)
    event.listen(sqlite_engine.pool, "checkin", untrace)
    try:
        submit_response(sqlite_engine, campaign_key=key, answers=answers_of(small), source="web")
    finally:
        event.remove(sqlite_engine.pool, "checkout", trace)
        event.remove(sqlite_engine.pool, "checkin", untrace)
    ran = [statement for statement in statements if not statement.startswith("PRAGMA")]
    assert ran[0] == "BEGIN IMMEDIATE"
    assert any(statement.startswith("INSERT INTO answer") for statement in ran)
    assert ran[-1] == "COMMIT"


def _hold_write_lock(engine: Engine, seconds: float, held: threading.Event) -> None:
    with write_connection(engine):
        held.set()
        time.sleep(seconds)


def _busy_timeout(session_or_connection: Any) -> int:
    return int(session_or_connection.execute(text("PRAGMA busy_timeout")).scalar())


def test_a_write_waits_for_another_writer_then_begins(sqlite_engine: Engine) -> None:
    """``begin_immediate`` tries again while another connection writes (SQLite's own busy
    timeout is off only for those tries) and begins once it is done, without spending the
    wait on the CPU."""
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(sqlite_engine, 0.3, held))
    holder.start()
    assert held.wait(5)
    started, cpu = time.monotonic(), time.thread_time()
    with write_session(sqlite_engine) as session:
        timeout = _busy_timeout(session)  # the first statement begins the transaction
        waited, spent = time.monotonic() - started, time.thread_time() - cpu
    holder.join()
    assert 0.2 < waited < 2.0
    assert timeout == SQLITE_BUSY_TIMEOUT_MS
    # It tries without sleeping for db.SPIN_SECONDS only, then sleeps between tries.
    assert spent < 0.1 * waited


def test_a_write_locked_out_past_the_timeout_fails_as_sqlite_would(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(sqlite_engine, 1.0, held))
    holder.start()
    assert held.wait(5)
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    try:
        started = time.monotonic()
        with (
            pytest.raises(OperationalError, match="database is locked"),
            write_session(sqlite_engine) as session,
        ):
            session.connection()
        assert 0.15 < time.monotonic() - started < 0.9
    finally:
        holder.join()
    with write_session(sqlite_engine) as session:  # the connection went back as it was
        assert _busy_timeout(session) == 200


# Bulk --------------------------------------------------------------------------------------------
def test_store_records_and_response_records_round_trip_in_batches(
    engine: Engine, small: Instrument
) -> None:
    first, second = add_campaign(engine, small), add_campaign(engine, small)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    records = [
        ResponseRecord(
            f"bulk-{index:05d}",
            base + timedelta(minutes=index),
            "consumer" if index % 3 else "enterprise",
            "purchase",
            "store",
            parse_answers(
                small,
                {
                    "rel_a__expectation": str(1 + index % 5),
                    "rel_a__perception": "NA" if index % 7 == 0 else str(1 + index % 4),
                    "comment": f"comment {index}" if index % 2 else "",
                },
                require_complete=False,
            ),
        )
        for index in range(2500)
    ]
    with write_session(engine) as session:
        campaigns = [get_campaign(session, key) for key in (first, second)]
        assert campaigns[0] is not None
        assert campaigns[1] is not None
        added = store_records(
            session, campaign=campaigns[0], instrument=small, records=records[:2000], source="demo"
        )
        store_records(
            session, campaign=campaigns[1], instrument=small, records=records[2000:], source="demo"
        )

    assert added == 2000
    with read_session(engine) as session:
        row = get_instrument(session, "small")
        assert row is not None
        everything = list(response_records(session, instrument_row=row))
        ids = [campaigns[1].id]
        of_second = list(response_records(session, instrument_row=row, campaign_ids=ids))
        last_id = session.scalar(select(Response.id).where(Response.uid == "bulk-02399"))
        after = list(response_records(session, instrument_row=row, since_id=last_id))
        sources = set(session.scalars(select(Response.source).distinct()))
    assert everything == records
    assert of_second == records[2000:]
    assert after == records[2400:]
    assert sources == {"demo"}


def test_the_answer_rows_of_a_response_carry_na_bits(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small)
    submit_response(engine, campaign_key=key, answers=answers_of(small), source="web")
    with read_session(engine) as session:
        rows = dict(
            session.execute(text("SELECT item, na_mask FROM answer ORDER BY item")).tuples().all()
        )
    assert rows == {
        "comment": 0,
        "emp_a": 1,
        "empathy": 0,
        "kind": 0,
        "overall": 0,
        "rel_a": 0,
        "reliability": 0,
    }


def test_the_bulk_layout_maps_answers_exactly_like_the_answers_module(small: Instrument) -> None:
    """``AnswerLayout`` is the precomputed form of ``answer_rows`` and ``answers_from_rows``:
    the same rows and the same answers back, always."""
    library = load_instrument_file(LIBRARY_DIR / "service-quality.yaml")
    generated = next(
        generate_records(
            library,
            n=300,
            seed=5,
            segments=["consumer"],
            stages=["purchase"],
            channels=["web"],
            start=date(2026, 1, 1),
        )
    )
    cases = [(library, record.answers) for record in generated]
    cases += [
        (small, answers_of(small)),
        (small, AnswerSet()),
        (
            small,
            answers_of(
                small, **{"rel_a__expectation": "NA", "rel_a__perception": "NA", "kind": "private"}
            ),
        ),
    ]
    for instrument, answers in cases:
        expected = [
            (7, row["item"], *(row.get(name) for name in ANSWER_ROW[2:-1]), row["na_mask"])
            for row in answer_rows(instrument, answers)
        ]
        layout = AnswerLayout.of(instrument)
        produced: list[tuple[object, ...]] = []
        layout.extend(produced, 7, answers)
        assert produced == expected
        rows = [dict(zip(ANSWER_ROW, row, strict=True)) for row in produced]
        assert layout.answer_set(produced) == answers_from_rows(instrument, rows) == answers
