"""The dashboard's scope as plain GET parameters, so a view can be bookmarked and shared.

``?instrument=KEY:N&campaign=K&campaign=K2&from=YYYY-MM-DD&to=YYYY-MM-DD&segment=S&
stage=T&channel=C&period=month|quarter``: repeated parameters choose several values; a missing
one means "all". ``instrument=KEY&version=N`` works too; the version defaults to the latest,
the instrument to the version with the most responses. Wrong values are reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from analysis.scope import Scope
from analysis.trends import PERIODS
from surveys import taxonomy
from surveys.models import Campaign, InstrumentVersion, Response
from surveys.services import instruments

AXES = ("segment", "stage", "channel")
#: At most this many values per repeated parameter (a hand-made URL cannot ask for thousands).
MAX_VALUES = 200


@dataclass
class ScopeChoice:
    """A parsed scope: the instrument version row, the engine's ``Scope`` and the problems."""

    row: InstrumentVersion | None
    scope: Scope | None
    period: str = "month"
    errors: list[str] = field(default_factory=list)

    def query(self) -> list[tuple[str, str]]:
        """The scope as GET parameters (for links and the report form)."""
        if self.row is None or self.scope is None:
            return []
        scope = self.scope
        pairs = [("instrument", f"{self.row.key}:{self.row.version}")]
        pairs += [("campaign", key) for key in scope.campaigns]
        if scope.date_from:
            pairs.append(("from", scope.date_from.isoformat()))
        if scope.date_to:
            pairs.append(("to", scope.date_to.isoformat()))
        for axis, values in zip(AXES, (scope.segments, scope.stages, scope.channels), strict=True):
            pairs += [(axis, value) for value in values]
        if self.period != "month":
            pairs.append(("period", self.period))
        return pairs


def parse_scope(session: Session, args: MultiDict[str, str]) -> ScopeChoice:
    """The scope the parameters choose, with every problem found (nothing is guessed)."""
    errors: list[str] = []
    row = _instrument(session, args, errors)
    if row is None:
        return ScopeChoice(None, None, errors=errors)
    campaigns = _values(args, "campaign", errors)
    known = dict(
        session.execute(
            select(Campaign.key, Campaign.instrument_id).where(Campaign.key.in_(campaigns))
        )
        .tuples()
        .all()
    )
    for key in campaigns:
        if key not in known:
            errors.append(f"campaign: there is no campaign {key[:64]!r}")
        elif known[key] != row.id:
            errors.append(f"campaign: {key[:64]!r} fields another instrument version")
    chosen: dict[str, tuple[str, ...]] = {}
    for axis in AXES:
        values = _values(args, axis, errors)
        terms = taxonomy.term_keys(session, axis)
        for value in values:
            if value not in terms:
                errors.append(f"{axis}: {value[:40]!r} is not a known {axis}")
        chosen[axis] = tuple(values)
    date_from, date_to = _date(args, "from", errors), _date(args, "to", errors)
    if date_from and date_to and date_from > date_to:
        errors.append(f"to: {date_to} is before from: {date_from}")
    period = args.get("period") or "month"
    if period not in PERIODS:
        errors.append(f"period: choose {' or '.join(PERIODS)}")
        period = "month"
    scope = Scope(
        instrument_version_id=row.id,
        campaigns=tuple(campaigns),
        date_from=date_from,
        date_to=date_to,
        segments=chosen["segment"],
        stages=chosen["stage"],
        channels=chosen["channel"],
    )
    return ScopeChoice(row, scope, period, errors)


def _instrument(
    session: Session, args: Mapping[str, str], errors: list[str]
) -> InstrumentVersion | None:
    key = (args.get("instrument") or "").strip()
    version_text = (args.get("version") or "").strip()
    if ":" in key:  # the form's "key:version"
        key, _, version_text = key.partition(":")
    if not key:
        return busiest_version(session)
    version: int | None = None
    if version_text:
        if not version_text.isdigit() or len(version_text) > 6:
            errors.append(f"version: {version_text[:20]!r} is not a version number")
            return None
        version = int(version_text)
    row = instruments.get_instrument(session, key[:64], version)
    if row is None:
        shown = f"{key[:64]!r}" + (f" version {version}" if version is not None else "")
        errors.append(f"instrument: there is no instrument {shown}")
    return row


def busiest_version(session: Session) -> InstrumentVersion | None:
    """The instrument version with the most responses (the first stored one if none has any)."""
    busiest = session.scalar(
        select(Response.instrument_id)
        .group_by(Response.instrument_id)
        .order_by(func.count().desc(), Response.instrument_id)
        .limit(1)
    )
    if busiest is not None:
        return session.get(InstrumentVersion, busiest)
    return session.scalar(select(InstrumentVersion).order_by(InstrumentVersion.id).limit(1))


def _values(args: MultiDict[str, str], name: str, errors: list[str]) -> list[str]:
    values = [value.strip() for value in args.getlist(name) if value.strip()]
    if len(values) > MAX_VALUES:
        errors.append(f"{name}: at most {MAX_VALUES} values")
        values = values[:MAX_VALUES]
    return list(dict.fromkeys(values))


def _date(args: Mapping[str, str], name: str, errors: list[str]) -> date | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{name}: {value[:40]!r} is not a date (YYYY-MM-DD)")
        return None


def options(
    session: Session, row: InstrumentVersion | None
) -> dict[str, Sequence[tuple[str, str]]]:
    """``(value, label)`` choices for the scope form: instrument versions, the version's
    campaigns, and the taxonomy."""
    choices: dict[str, Sequence[tuple[str, str]]] = {
        "instrument": [
            (
                f"{version.key}:{version.version}",
                f"{version.key} v{version.version}: {version.title}",
            )
            for version in instruments.list_instruments(session)
        ]
    }
    campaigns = (
        session.execute(
            select(Campaign.key, Campaign.name)
            .where(Campaign.instrument_id == row.id)
            .order_by(Campaign.key)
        )
        .tuples()
        .all()
        if row is not None
        else []
    )
    choices["campaign"] = [(key, key) for key, _name in campaigns]  # keys tell campaigns apart
    for axis in AXES:
        choices[axis] = [(term.key, term.label) for term in taxonomy.list_terms(session, axis)]
    return choices


def taxonomy_labels(session: Session) -> dict[str, dict[str, str]]:
    """``{axis: {key: label}}`` of the organisation's taxonomy (the report's labels)."""
    return {
        axis: {term.key: term.label for term in taxonomy.list_terms(session, axis)} for axis in AXES
    }
