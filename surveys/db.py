"""Engine, declarative base and sessions.

SQLite is configured for durability and honest locking (security.md §4): WAL, ``synchronous=FULL``,
a busy timeout, foreign keys on, and ``BEGIN IMMEDIATE`` for write sessions so a transaction that
reads then writes waits for the lock instead of failing with ``SQLITE_BUSY``. The WAL is
checkpointed less often than SQLite's default (``SQLITE_WAL_AUTOCHECKPOINT_PAGES``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Execution option that marks a connection's transactions as writes (BEGIN IMMEDIATE on SQLite).
WRITE_OPTION = "gapmeter_write"
SQLITE_BUSY_TIMEOUT_MS = 5000
#: How long ``begin_immediate`` tries again without sleeping (yielding the core each time).
SPIN_SECONDS = 0.001
#: WAL frames (pages) before a commit checkpoints them into the database file (SQLite's default
#: is 1,000). A survey submission writes about 13 pages, most of them the same few hot ones (the
#: tables' and ordered indexes' last leaves); checkpointing every 10,000 frames copies each of
#: those once per ~750 submissions instead of once per ~75, which made submissions about 8 %
#: faster (benchmarks/README.md, "Intake speed"). The WAL file then grows to about 40 MB.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
#: Bytes a WAL file is cut back to when it is reset, should a long reader have let it grow.
SQLITE_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with Gapmeter's settings (SQLite pragmas, PostgreSQL pre-ping)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred only).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
            cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION, False):
            begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN")


def begin_immediate(connection: Connection) -> None:
    """``BEGIN IMMEDIATE``, tried again while another connection writes, for up to
    ``SQLITE_BUSY_TIMEOUT_MS``; then SQLite's "database is locked", as with its busy timeout.

    SQLite's own busy handler sleeps 1, 2, 5, 10… ms between tries, while a survey submission
    holds the write lock for well under a millisecond (mostly its commit's fsync), so the
    waiting worker slept far longer than the other wrote. Here the first ``SPIN_SECONDS`` try
    again after each ``sched_yield`` (the core goes to whoever can run, the lock holder
    included), then after sleeps from 50 µs growing to 2 ms. That took the lock as soon as it
    was free and made submissions about 9 % faster (benchmarks/README.md, "Intake speed").
    The tries go to the driver: through SQLAlchemy each refused try cost 15 times as much CPU,
    for an error that is only thrown away. A last try through SQLAlchemy raises its usual
    ``OperationalError``.
    """
    timeout_ms = SQLITE_BUSY_TIMEOUT_MS
    driver: Any = connection.connection.driver_connection
    driver.execute("PRAGMA busy_timeout=0")
    try:
        start = time.monotonic()
        spin_until, deadline = start + SPIN_SECONDS, start + timeout_ms / 1000
        pause = 0.00005
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                busy = getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
                now = time.monotonic()
                if not busy or now > deadline:
                    break
            if now < spin_until:
                os.sched_yield()
                continue
            time.sleep(pause)
            pause = min(pause * 1.5, 0.002)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        driver.execute(f"PRAGMA busy_timeout={timeout_ms}")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction is a write from its first statement; commits on success."""
    with Session(write_bind(engine), expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """``write_session`` without the ORM: a Core connection in a write transaction, committed
    on success (the intake, whose few statements need no unit of work)."""
    with write_bind(engine).begin() as connection:
        yield connection


def write_bind(engine: Engine) -> Engine:
    """``engine`` marked for writes (``WRITE_OPTION``), made once per engine: a new option
    engine per transaction cost a submission more than its ``BEGIN``."""
    bind: Engine | None = engine.__dict__.get("_gapmeter_write_bind")
    if bind is None:
        bind = engine.__dict__["_gapmeter_write_bind"] = engine.execution_options(
            **{WRITE_OPTION: True}
        )
    return bind


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
