"""Driver statements give what SQLAlchemy's own execution gives: the same values both ways,
the same transaction, the same exceptions (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError, NoResultFound, OperationalError

from surveys.clock import as_utc
from surveys.db import Base, make_engine, read_session, write_connection
from surveys.driver_sql import driver_statement, run_many
from surveys.instrument import Instrument
from surveys.models import Campaign, Response
from surveys.services.campaigns import _FACTS, campaign_facts
from tests.surveys.conftest import add_campaign

_RESPONSES = Response.__table__
_INSERT = insert(_RESPONSES).returning(_RESPONSES.c.id, _RESPONSES.c.submitted_at)
_KEYS = ("uid", "campaign_id", "instrument_id", "segment", "stage", "channel", "submitted_at",
         "source")  # fmt: skip


def _response(campaign_id: int, instrument_id: int, uid: str, at: datetime) -> dict[str, object]:
    return {
        "uid": uid,
        "campaign_id": campaign_id,
        "instrument_id": instrument_id,
        "segment": "consumer",
        "stage": "after_sales",
        "channel": "web",
        "submitted_at": at,
        "source": "web",
    }


def test_a_select_reads_what_sqlalchemy_reads(engine: Engine, small: Instrument) -> None:
    closes = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    key = add_campaign(engine, small, closes_at=closes)
    with engine.connect() as connection:
        by_sqlalchemy = tuple(connection.execute(_FACTS, {"key": key}).one())
        by_driver = driver_statement(_FACTS, connection.dialect).first(connection, {"key": key})
        assert driver_statement(_FACTS, connection.dialect).first(connection, {"key": "no"}) is None
    assert by_driver == by_sqlalchemy
    assert isinstance(by_driver[-1], datetime)
    assert as_utc(by_driver[-1]) == closes
    with engine.connect() as connection:
        facts = campaign_facts(connection, key)
    assert facts is not None
    assert facts.key == key
    assert facts.state() == "open"


def test_an_insert_stores_what_the_orm_reads_back(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small)
    at = datetime(2026, 12, 1, 10, 11, 12, 654321, tzinfo=UTC)
    with write_connection(engine) as connection:
        facts = campaign_facts(connection, key)
        assert facts is not None
        statement = driver_statement(_INSERT, connection.dialect, _KEYS)
        new_id, returned_at = statement.one(
            connection, _response(facts.id, facts.instrument_id, "u-1", at)
        )
    with read_session(engine) as session:
        stored = session.get(Response, new_id)
        assert stored is not None
        assert stored.uid == "u-1"
        assert as_utc(stored.submitted_at) == at
    assert as_utc(returned_at) == at


def test_statements_run_in_the_connections_transaction(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small)
    with engine.connect() as connection:
        facts = campaign_facts(connection, key)
        assert facts is not None
        assert connection.in_transaction()
        params = _response(facts.id, facts.instrument_id, "u-gone", datetime.now(UTC))
        driver_statement(_INSERT, connection.dialect, _KEYS).one(connection, params)
        connection.rollback()
    with read_session(engine) as session:
        assert session.scalar(select(Response.id).where(Response.uid == "u-gone")) is None


def test_driver_errors_are_sqlalchemys_and_the_transaction_is_undone(
    engine: Engine, small: Instrument
) -> None:
    key = add_campaign(engine, small)
    with write_connection(engine) as connection:
        facts = campaign_facts(connection, key)
        assert facts is not None
    params = _response(facts.id, facts.instrument_id, "u-twice", datetime.now(UTC))
    with write_connection(engine) as connection:
        driver_statement(_INSERT, connection.dialect, _KEYS).one(connection, params)
    rename = update(Campaign).values(name=bindparam("n")).where(Campaign.key == bindparam("k"))
    with write_connection(engine) as connection:
        renamed = driver_statement(rename, connection.dialect).rowcount
        assert renamed(connection, {"n": "changed", "k": key}) == 1
        again = driver_statement(_INSERT, connection.dialect, _KEYS)
        with pytest.raises(IntegrityError) as raised:
            again.one(connection, params)
        connection.rollback()
    assert "INSERT INTO response" in str(raised.value.statement)
    with read_session(engine) as session:  # the update before it went with it
        assert session.scalar(select(Campaign.name).where(Campaign.key == key)) != "changed"
    with pytest.raises(NoResultFound), engine.connect() as connection:
        driver_statement(_FACTS, connection.dialect).one(connection, {"key": "no such"})


def test_run_many_inserts_rows_as_given(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small)
    with write_connection(engine) as connection:
        facts = campaign_facts(connection, key)
        assert facts is not None
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        sql = f"UPDATE campaign SET name = {mark} WHERE id = {mark}"  # noqa: S608 - fixed
        run_many(connection, sql, [("first", facts.id), ("second", facts.id)])
    with read_session(engine) as session:
        assert session.scalar(select(Campaign.name).where(Campaign.key == key)) == "second"


def test_statements_that_need_more_of_sqlalchemy_are_refused(engine: Engine) -> None:
    expanding = select(Campaign.id).where(Campaign.key.in_(bindparam("keys", expanding=True)))
    with pytest.raises(ValueError, match="expand"):
        driver_statement(expanding, engine.dialect)
    literal = update(Campaign).values(name="literal").where(Campaign.key == bindparam("k"))
    with pytest.raises(ValueError, match="literals"):
        driver_statement(literal, engine.dialect)
    # Campaign.opens_at and created_at have Python-side defaults the driver would not compute.
    with pytest.raises(ValueError, match="defaults"):
        driver_statement(insert(Campaign.__table__), engine.dialect, ("key", "name"))


def test_a_lost_postgresql_connection_is_invalidated(postgres_url: str, small: Instrument) -> None:
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    try:
        key = add_campaign(engine, small)
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()
            facts = driver_statement(_FACTS, connection.dialect)
            with pytest.raises(OperationalError) as raised:
                _until_it_fails(lambda: facts.first(connection, {"key": key}))
            assert raised.value.connection_invalidated
            assert connection.invalidated
        with engine.connect() as connection:  # the pool recovers
            assert campaign_facts(connection, key) is not None
    finally:
        engine.dispose()


def _until_it_fails(call: Callable[[], object], seconds: float = 5.0) -> None:
    """Call until it raises (a terminated backend may take a moment to go)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        call()
        time.sleep(0.05)
