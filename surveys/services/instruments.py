"""Stored instrument versions: register a loaded instrument, look versions up, load them back.

A version is stored as its canonical JSON with the content hash and the source file text. Once
a version has responses it is immutable (design.md): loading changed content under the same key
and version is refused, and the message says to give the file a new version number.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection, exists, select
from sqlalchemy.orm import Session

from surveys.errors import InstrumentImmutableError
from surveys.instrument import Instrument
from surveys.instrument_loader import instrument_from_json
from surveys.models import InstrumentVersion, Response

TITLE_LENGTH = 300
#: Loaded instruments kept in memory, by content hash.
CACHE_SIZE = 64

_cache: OrderedDict[str, Instrument] = OrderedDict()
_cache_lock = threading.Lock()


def register_instrument(
    session: Session, instrument: Instrument, source_text: str
) -> InstrumentVersion:
    """Store ``instrument`` as version ``instrument.version`` of ``instrument.key``.

    The same content again is a no-op that returns the stored row. Changed content replaces a
    version nobody has answered yet; a version with responses raises
    ``InstrumentImmutableError``.
    """
    content_hash = instrument.content_hash
    row = get_instrument(session, instrument.key, instrument.version)
    if row is not None and row.content_hash == content_hash:
        return row
    if row is None:
        row = InstrumentVersion(key=instrument.key, version=instrument.version)
        session.add(row)
    elif has_responses(session, row):
        raise InstrumentImmutableError(
            f"{instrument.key} version {instrument.version} already has responses, so its "
            f"questions cannot change; give the changed file a new version number "
            f"(version: {latest_version(session, instrument.key) + 1}) and load it again"
        )
    row.title = instrument.title.get()[:TITLE_LENGTH]
    row.content_hash = content_hash
    row.definition = instrument.to_json()
    row.source = source_text
    session.flush()
    return row


def has_responses(session: Session, row: InstrumentVersion) -> bool:
    return bool(session.scalar(select(exists().where(Response.instrument_id == row.id))))


def latest_version(session: Session, key: str) -> int:
    latest = get_instrument(session, key)
    return latest.version if latest is not None else 0


def get_instrument(
    session: Session, key: str, version: int | None = None
) -> InstrumentVersion | None:
    """Version ``version`` of instrument ``key``; the highest version when ``version`` is None."""
    query = select(InstrumentVersion).where(InstrumentVersion.key == key)
    if version is None:
        query = query.order_by(InstrumentVersion.version.desc()).limit(1)
    else:
        query = query.where(InstrumentVersion.version == version)
    return session.scalar(query)


def list_instruments(session: Session) -> list[InstrumentVersion]:
    """Every stored version, by key and version."""
    query = select(InstrumentVersion).order_by(InstrumentVersion.key, InstrumentVersion.version)
    return list(session.scalars(query))


def instrument_of(row: InstrumentVersion) -> Instrument:
    """The ``Instrument`` of a stored version, checked once per content hash and then cached."""
    return _cached(row.content_hash) or _remember(row.content_hash, row.definition)


def instrument_by_hash(
    connection: Connection | Session, instrument_id: int, content_hash: str
) -> Instrument:
    """The ``Instrument`` of version row ``instrument_id`` with ``content_hash``, from the cache
    when it is there, else its JSON read by id (``CampaignFacts`` carry both)."""
    cached = _cached(content_hash)
    if cached is not None:
        return cached
    query = select(InstrumentVersion.definition).where(InstrumentVersion.id == instrument_id)
    return _remember(content_hash, connection.execute(query).scalar_one())


def _cached(content_hash: str) -> Instrument | None:
    with _cache_lock:
        cached = _cache.get(content_hash)
        if cached is not None:
            _cache.move_to_end(content_hash)
        return cached


def _remember(content_hash: str, definition: dict[str, Any]) -> Instrument:
    instrument = instrument_from_json(definition)
    with _cache_lock:
        _cache[content_hash] = instrument
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return instrument
