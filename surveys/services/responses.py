"""Response intake and bulk storage: the source of truth, written so no answer is lost or doubled.

``submit_response`` is the one way a single response is stored (survey pages, the API). It acts
only after a durable commit (security.md §1.5): one write transaction (``BEGIN IMMEDIATE`` on
SQLite) checks the campaign is open, claims the invitation by compare-and-set, and writes the
response with every answer row; the caller acknowledges after it returns. Two guards in the
database keep one response per invitation (the claim's ``used_at IS NULL`` condition and the
unique ``response.invitation_id``), and the unique ``idempotency_key`` makes a retried request
return the first response instead of storing a second.

Nothing identifying is stored: no IP address, no user agent; the public ``uid`` is random, so it
says nothing about the order of submissions.

``store_records`` is the bulk path (CSV import, demo data, benchmarks): batched executemany
``INSERT``s (answers by ``COPY`` on PostgreSQL), no ORM object per row, answer rows built from an
``AnswerLayout`` worked out once per instrument. ``response_records`` streams stored responses
back in batches for the export.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveys.answers import (
    COLUMN_OF,
    AnswerSet,
    segment_from_answers,
)
from surveys.clock import as_utc, utcnow
from surveys.db import read_session, write_connection
from surveys.driver_sql import driver_statement, run_many
from surveys.errors import (
    AlreadyAnsweredError,
    CampaignClosedError,
    IdempotencyConflictError,
    NotFoundError,
    SurveysError,
)
from surveys.instrument import Instrument
from surveys.models import Access, Answer, Campaign, InstrumentVersion, Invitation, Response, Source
from surveys.response_table import ResponseRecord
from surveys.services.campaigns import CampaignFacts, campaign_facts
from surveys.services.instruments import instrument_by_hash, instrument_of
from surveys.services.invitations import find_invitation, lookup_hash
from surveys.taxonomy import UNCLASSIFIED, get_term

#: Random bytes in a response uid (128 bits).
UID_BYTES = 16
#: Responses per INSERT batch of ``store_records`` and per SELECT batch of ``response_records``.
BATCH = 1000
IDEMPOTENCY_KEY_LENGTH = 200
LANGUAGE_LENGTH = 16

_RESPONSES = Response.__table__
_ANSWERS = Answer.__table__
#: The intake's statements, run as driver statements (``surveys.driver_sql``).
_INSERT_RESPONSE = insert(_RESPONSES).returning(_RESPONSES.c.id)
_RESPONSE_KEYS = (
    "uid",
    "campaign_id",
    "instrument_id",
    "segment",
    "stage",
    "channel",
    "submitted_at",
    "duration_seconds",
    "language",
    "source",
    "invitation_id",
    "idempotency_key",
    "payload_hash",
)
_INVITATION = select(Invitation.id, Invitation.campaign_id, Invitation.segment).where(
    Invitation.token_hash == bindparam("token_hash")
)
_CLAIM = (
    update(Invitation)
    .where(Invitation.id == bindparam("invitation_id"), Invitation.used_at.is_(None))
    .values(used_at=bindparam("used_at"))
)
#: Every answer column but the keys, so each row of an executemany has the same keys.
_EMPTY_ANSWER = dict.fromkeys(("expectation", "perception", "importance", "value", "text"))
#: Columns of an answer row as ``AnswerLayout``, the bulk writers and the readers order them.
ANSWER_ROW = ("response_id", "item", *_EMPTY_ANSWER, "na_mask")
_ANSWER_COLUMNS = tuple(_ANSWERS.c[name] for name in ANSWER_ROW)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A stored response: its public ``uid``, its row id, and whether this was a replay of an
    earlier submission with the same idempotency key."""

    uid: str
    response_id: int
    replayed: bool = False


class SubmissionError(SurveysError):
    """A submission whose metadata is unusable (an over-long idempotency key, an unknown
    source)."""


def new_uid() -> str:
    """A random public response id that never begins with ``-``, so a spreadsheet-safe export
    writes it unchanged (``csv_safety``)."""
    while (uid := secrets.token_urlsafe(UID_BYTES)).startswith("-"):
        pass
    return uid


# Intake -------------------------------------------------------------------------------------
def submit_response(
    engine: Engine,
    *,
    campaign_key: str,
    answers: AnswerSet,
    source: Source | str,
    token: str | None = None,
    idempotency_key: str | None = None,
    payload_hash: str | None = None,
    submitted_at: datetime | None = None,
    duration_seconds: int | None = None,
    language: str | None = None,
    segment: str | None = None,
) -> Submitted:
    """Store one response of valid ``answers`` durably, or raise and store nothing.

    ``segment`` (a taxonomy key, e.g. sent by an API client) classifies the respondent unless
    an invitation does. Raises ``NotFoundError`` (unknown campaign, invitation or segment, or no
    invitation for an invitation-only campaign), ``CampaignClosedError``,
    ``AlreadyAnsweredError`` (the invitation was used) and ``IdempotencyConflictError`` (the key
    came with another payload).
    """
    _check_key(idempotency_key)
    intake = _Intake(
        campaign_key,
        answers,
        _source(source),
        token,
        idempotency_key,
        payload_hash,
        submitted_at,
        duration_seconds if duration_seconds is None or duration_seconds >= 0 else None,
        language[:LANGUAGE_LENGTH] if language else None,
        segment,
    )
    try:
        with write_connection(engine) as connection:
            return intake.store(connection)
    except (AlreadyAnsweredError, CampaignClosedError):
        # A retry of a stored response gets that response, even once the invitation is used
        # or the campaign has closed.
        if (replay := _replayed(engine, intake)) is not None:
            return replay
        raise
    except IntegrityError:
        # A retry, or a concurrent twin that committed first: the unique constraints decide.
        # Re-read: a retry gets the first response, a second use of the invitation is told it
        # was answered.
        if (replay := _replayed(engine, intake)) is not None:
            return replay
        if token is not None and _answered(engine, token):
            raise AlreadyAnsweredError("this invitation has been answered already") from None
        raise


@dataclass(frozen=True, slots=True)
class Submission:
    """One response of a batch: valid answers, and optionally its segment and time."""

    answers: AnswerSet
    segment: str | None = None
    submitted_at: datetime | None = None


def submit_batch(
    engine: Engine,
    *,
    campaign_key: str,
    submissions: Sequence[Submission],
    source: Source | str,
    idempotency_key: str | None = None,
    payload_hash: str | None = None,
) -> list[Submitted]:
    """Store every submission in one transaction, or none of them (an API batch).

    Response ``i`` is stored under ``idempotency_key`` (``i = 0``) or ``<key>#<i>``, each with
    the ``payload_hash`` of the whole batch, so a retried batch returns the first one's
    responses, and the same key with another batch (or a single response) is a conflict.
    Raises as ``submit_response`` does.
    """
    _check_key(idempotency_key, suffix=len(f"#{len(submissions)}"))
    kind = _source(source)
    intakes = [
        _Intake(
            campaign_key,
            submission.answers,
            kind,
            None,
            batch_item_key(idempotency_key, index),
            payload_hash,
            submission.submitted_at,
            None,
            None,
            submission.segment,
        )
        for index, submission in enumerate(submissions)
    ]
    try:
        with write_connection(engine) as connection:
            return [intake.store(connection) for intake in intakes]
    except (IntegrityError, CampaignClosedError):
        # A retry or a concurrent twin of a stored batch (see submit_response).
        if idempotency_key is not None:
            with read_session(engine) as session:
                replays = [intake.replay(session) for intake in intakes]
            if all(replay is not None for replay in replays):
                return [replay for replay in replays if replay is not None]
        raise


def batch_item_key(idempotency_key: str | None, index: int) -> str | None:
    """The stored idempotency key of response ``index`` of a batch sent with ``idempotency_key``."""
    if idempotency_key is None:
        return None
    return idempotency_key if index == 0 else f"{idempotency_key}#{index}"


def _check_key(idempotency_key: str | None, *, suffix: int = 0) -> None:
    if idempotency_key is not None and len(idempotency_key) + suffix > IDEMPOTENCY_KEY_LENGTH:
        raise SubmissionError(
            f"the idempotency key is longer than {IDEMPOTENCY_KEY_LENGTH - suffix} characters"
        )


def _source(source: Source | str) -> Source:
    try:
        return Source(source)
    except ValueError:
        raise SubmissionError(f"unknown response source {str(source)[:40]!r}") from None


def _replayed(engine: Engine, intake: _Intake) -> Submitted | None:
    if intake.idempotency_key is None:
        return None
    with read_session(engine) as session:
        return intake.replay(session)


def _answered(engine: Engine, token: str) -> bool:
    with read_session(engine) as session:
        invitation = find_invitation(session, token)
        if invitation is None:
            return False
        used = select(Response.id).where(Response.invitation_id == invitation.id)
        return invitation.used_at is not None or session.scalar(used) is not None


@dataclass(frozen=True)
class _Intake:
    campaign_key: str
    answers: AnswerSet
    source: Source
    token: str | None
    idempotency_key: str | None
    payload_hash: str | None
    submitted_at: datetime | None
    duration_seconds: int | None
    language: str | None
    segment_key: str | None = None

    def store(self, connection: Connection) -> Submitted:
        """Check, claim and insert in the caller's write transaction. A retry with a stored
        idempotency key fails the key's unique index here and is answered by ``replay``
        afterwards, so the first try does not pay a lookup for it."""
        campaign = campaign_facts(connection, self.campaign_key)
        if campaign is None:
            raise NotFoundError(f"no campaign {str(self.campaign_key)[:80]!r}")
        now = utcnow()
        state = campaign.state(now)
        if state != "open":
            raise CampaignClosedError(state)
        instrument = instrument_by_hash(connection, campaign.instrument_id, campaign.content_hash)
        if self.segment_key is not None:
            get_term(Session(bind=connection), "segment", self.segment_key)
        invitation = self.claim(connection, campaign, now)
        inserted = driver_statement(_INSERT_RESPONSE, connection.dialect, _RESPONSE_KEYS).one(
            connection,
            {
                "uid": (uid := new_uid()),
                "campaign_id": campaign.id,
                "instrument_id": campaign.instrument_id,
                "segment": self.segment(instrument, campaign, invitation),
                "stage": campaign.stage,
                "channel": campaign.channel,
                "submitted_at": as_utc(self.submitted_at or now),
                "duration_seconds": self.duration_seconds,
                "language": self.language,
                "source": self.source.value,
                "invitation_id": invitation[0] if invitation is not None else None,
                "idempotency_key": self.idempotency_key,
                "payload_hash": self.payload_hash,
            },
        )
        response_id = int(inserted[0])
        rows: list[tuple[Any, ...]] = []
        AnswerLayout.of(instrument).extend(rows, response_id, self.answers)
        if rows:
            _answer_writer(connection)(rows)
        return Submitted(uid, response_id)

    def replay(self, session: Session) -> Submitted | None:
        """The response stored earlier under this idempotency key, if any; the same key with
        another payload (or for another campaign) is a conflict."""
        if self.idempotency_key is None:
            return None
        found = session.execute(
            select(Response.id, Response.uid, Response.campaign_id, Response.payload_hash).where(
                Response.idempotency_key == self.idempotency_key
            )
        ).first()
        if found is None:
            return None
        campaign = campaign_facts(session, self.campaign_key)
        if (
            campaign is None
            or found.campaign_id != campaign.id
            or found.payload_hash != self.payload_hash
        ):
            raise IdempotencyConflictError(
                "this idempotency key was used for a different submission; "
                "send a new key with new answers"
            )
        return Submitted(found.uid, found.id, replayed=True)

    def claim(
        self, connection: Connection, campaign: CampaignFacts, now: datetime
    ) -> tuple[int, str] | None:
        """The invitation of the token (id and segment), marked used by compare-and-set in
        this transaction."""
        if self.token is None:
            if campaign.access == Access.INVITATION:
                raise NotFoundError(
                    f"campaign {campaign.key!r} is answered by personal invitation only"
                )
            return None
        hashed = lookup_hash(self.token)
        found = None
        if hashed is not None:
            found = driver_statement(_INVITATION, connection.dialect).first(
                connection, {"token_hash": hashed}
            )
        if found is None or found[1] != campaign.id:
            raise NotFoundError("unknown invitation")
        invitation_id, _campaign_id, segment = found
        claimed = driver_statement(_CLAIM, connection.dialect).rowcount(
            connection, {"invitation_id": invitation_id, "used_at": now}
        )
        if claimed != 1:
            raise AlreadyAnsweredError("this invitation has been answered already")
        return invitation_id, segment

    def segment(
        self, instrument: Instrument, campaign: CampaignFacts, invitation: tuple[int, str] | None
    ) -> str:
        """The invitation's segment, else the one given, else the classification answer's, else
        the campaign's."""
        if invitation is not None:
            return invitation[1]
        if self.segment_key is not None:
            return self.segment_key
        return segment_from_answers(instrument, self.answers) or campaign.segment or UNCLASSIFIED


# Bulk storage --------------------------------------------------------------------------------
def store_records(
    session: Session,
    *,
    campaign: Campaign,
    instrument: Instrument,
    records: Iterable[ResponseRecord],
    source: Source | str,
) -> int:
    """Insert ``records`` as responses of ``campaign`` (answers of ``instrument``) in batches;
    return how many. The caller's transaction decides: nothing is committed here.

    Per batch: one executemany ``INSERT`` of the responses, one ``SELECT`` of their ids by uid,
    and the answer rows as plain tuples through the driver's ``executemany`` (``COPY`` on
    PostgreSQL), because at a million responses any per-row overhead costs minutes.
    """
    source = Source(source)
    layout = AnswerLayout.of(instrument)
    connection = session.connection()
    write_answers = _answer_writer(connection)
    stored = 0
    for batch in _batches(records, BATCH):
        connection.execute(
            insert(_RESPONSES), [_response_params(campaign, record, source) for record in batch]
        )
        uids = [record.response_id for record in batch]
        ids = dict(
            connection.execute(select(Response.uid, Response.id).where(Response.uid.in_(uids)))
            .tuples()
            .all()
        )
        rows: list[tuple[Any, ...]] = []
        for record in batch:
            layout.extend(rows, ids[record.response_id], record.answers)
        if rows:
            write_answers(rows)
        stored += len(batch)
    return stored


class AnswerLayout:
    """Where each slot of an instrument goes in the ``Answer`` rows: the mapping of
    ``surveys.answers.answer_rows`` and ``answers_from_rows``, worked out once per instrument so
    the bulk paths convert rows without rebuilding the instrument's slots for every response
    (tests check both directions against those two functions)."""

    __slots__ = ("by_key", "rows")

    def __init__(self, rows: tuple[tuple[str, tuple[tuple[str, int, int], ...]], ...]) -> None:
        self.rows = rows
        self.by_key = dict(rows)

    @classmethod
    @functools.lru_cache(maxsize=64)
    def of(cls, instrument: Instrument) -> AnswerLayout:
        value_columns = list(_EMPTY_ANSWER)
        groups: dict[str, list[tuple[str, int, int]]] = {}
        for slot in instrument.slots():
            column, bit = COLUMN_OF[slot.measure]
            key = slot.item or slot.dimension or ""
            groups.setdefault(key, []).append((slot.name, value_columns.index(column), bit))
        return cls(tuple((key, tuple(cells)) for key, cells in groups.items()))

    def extend(self, out: list[tuple[Any, ...]], response_id: int, answers: AnswerSet) -> None:
        """Append the ``ANSWER_ROW`` tuples of one response to ``out``."""
        values, not_applicable = answers.values, answers.not_applicable
        for key, cells in self.rows:
            row: list[Any] = [None] * len(_EMPTY_ANSWER)
            mask, answered = 0, False
            for name, index, bit in cells:
                if name in not_applicable:
                    mask |= bit
                    answered = True
                elif name in values:
                    row[index] = values[name]
                    answered = True
            if answered:
                out.append((response_id, key, *row, mask))

    def answer_set(self, rows: Iterable[Sequence[Any]]) -> AnswerSet:
        """The answers of one response from its ``ANSWER_ROW``-shaped rows."""
        values: dict[str, int | str] = {}
        not_applicable: set[str] = set()
        for row in rows:
            mask = row[-1] or 0
            for name, index, bit in self.by_key.get(row[1], ()):
                if mask & bit:
                    not_applicable.add(name)
                elif (value := row[2 + index]) is not None:
                    values[name] = value
        return AnswerSet(values, frozenset(not_applicable))


def _answer_writer(connection: Connection) -> Callable[[list[tuple[Any, ...]]], None]:
    """A function that inserts ``ANSWER_ROW`` tuples in the connection's transaction."""
    columns = ", ".join(ANSWER_ROW)
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        copy_statement = f"COPY answer ({columns}) FROM STDIN"

        def copy_rows(rows: list[tuple[Any, ...]]) -> None:
            with driver.cursor() as cursor, cursor.copy(copy_statement) as copy:
                for row in rows:
                    copy.write_row(row)

        return copy_rows
    marks = ", ".join("?" if connection.dialect.paramstyle == "qmark" else "%s" for _ in ANSWER_ROW)
    statement = f"INSERT INTO answer ({columns}) VALUES ({marks})"  # noqa: S608 - fixed names

    def insert_rows(rows: list[tuple[Any, ...]]) -> None:
        run_many(connection, statement, rows)

    return insert_rows


def _response_params(campaign: Campaign, record: ResponseRecord, source: Source) -> dict[str, Any]:
    return {
        "uid": record.response_id,
        "campaign_id": campaign.id,
        "instrument_id": campaign.instrument_id,
        "segment": record.segment,
        "stage": record.stage,
        "channel": record.channel,
        "submitted_at": as_utc(record.submitted_at),
        "duration_seconds": None,
        "language": None,
        "source": source.value,
        "invitation_id": None,
        "idempotency_key": None,
        "payload_hash": None,
    }


def _batches(items: Iterable[Any], size: int) -> Iterator[tuple[Any, ...]]:
    iterator = iter(items)
    while batch := tuple(islice(iterator, size)):
        yield batch


# Reading back --------------------------------------------------------------------------------
#: The response columns ``records_of`` turns into ``ResponseRecord``s (in this order).
RECORD_COLUMNS = (
    Response.id,
    Response.uid,
    Response.campaign_id,
    Response.submitted_at,
    Response.segment,
    Response.stage,
    Response.channel,
)


def response_records(
    session: Session,
    *,
    instrument_row: InstrumentVersion,
    campaign_ids: Sequence[int] | None = None,
    since_id: int | None = None,
) -> Iterator[ResponseRecord]:
    """The stored responses of an instrument version (optionally of some campaigns, and after
    response id ``since_id``) in id order, read in batches of ``BATCH`` (two queries each)."""
    instrument = instrument_of(instrument_row)
    last = since_id or 0
    while True:
        query = (
            select(*RECORD_COLUMNS)
            .where(Response.instrument_id == instrument_row.id, Response.id > last)
            .order_by(Response.id)
            .limit(BATCH)
        )
        if campaign_ids is not None:
            query = query.where(Response.campaign_id.in_(list(campaign_ids)))
        rows = session.connection().execute(query).all()
        if not rows:
            return
        yield from records_of(session, instrument, rows)
        last = rows[-1].id


def stored_records(session: Session, uids: Sequence[str]) -> dict[str, tuple[int, Row[Any]]]:
    """The response rows (``RECORD_COLUMNS``) of ``uids`` that exist, by uid, with campaign id."""
    found: dict[str, tuple[int, Row[Any]]] = {}
    for batch in _batches(uids, BATCH):
        query = select(*RECORD_COLUMNS).where(Response.uid.in_(batch))
        for row in session.connection().execute(query):
            found[row.uid] = (row.campaign_id, row)
    return found


def records_of(
    session: Session, instrument: Instrument, rows: Sequence[Row[Any]]
) -> list[ResponseRecord]:
    """``ResponseRecord``s of response rows (``RECORD_COLUMNS``), with one query for all their
    answers."""
    layout = AnswerLayout.of(instrument)
    answers: dict[int, list[Row[Any]]] = {row.id: [] for row in rows}
    query = select(*_ANSWER_COLUMNS).where(Answer.response_id.in_(list(answers)))
    for answer in session.connection().execute(query):
        answers[answer.response_id].append(answer)
    return [
        ResponseRecord(
            response_id=row.uid,
            submitted_at=as_utc(row.submitted_at),
            segment=row.segment,
            stage=row.stage,
            channel=row.channel,
            answers=layout.answer_set(answers[row.id]),
        )
        for row in rows
    ]
