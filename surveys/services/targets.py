"""Service standards (targets) kept in the database: create, edit, retire, and the targets an
instrument version is assessed against (its own file's targets, then the database's).

A database target belongs to an instrument *key* (every version); it is checked against a
version with the very rules an instrument file's targets are checked with
(``surveys.instrument_target_checks``), so a stored target can never name a dimension or item
the version does not measure, nor a threshold outside the metric's possible values. A target
that does not fit a version (its subject was dropped in a later version) is left out of that
version's assessment and listed as not applicable. Every change is audited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.clock import utcnow
from surveys.errors import NotFoundError, SurveysError
from surveys.instrument import Instrument, TargetSpec, Text
from surveys.instrument_document import Document
from surveys.instrument_target_checks import METRIC_RULES, check_targets
from surveys.models import InstrumentVersion, Target
from surveys.services import audit
from surveys.services.instruments import instrument_of
from surveys.taxonomy import check_key, get_term

#: Scope factors a database target may restrict (the assessment's cell key fields).
SCOPE_FACTORS = ("segment", "stage", "channel")
DIRECTIONS = ("at_least", "at_most")
KEY_LENGTH = 64
LABEL_LENGTH = 200
#: Key prefix of database targets in an assessment, so they never collide with a file's keys.
PREFIX = "db-"


class TargetError(SurveysError):
    """A target that cannot be stored as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class TargetFields:
    """What a manager sets: metric, subject (dimension or item, where the metric needs one),
    threshold, direction, scope (segment / stage / channel values) and an optional label."""

    metric: str
    threshold: float
    direction: str
    subject: str | None = None
    scope: Mapping[str, str] = dataclasses.field(default_factory=dict)
    label: str | None = None


# Checking --------------------------------------------------------------------------------------
def problems(session: Session, row: InstrumentVersion, fields: TargetFields) -> list[str]:
    """Why ``fields`` do not make a target of instrument version ``row`` (empty: they do)."""
    found: list[str] = []
    if fields.metric not in METRIC_RULES:
        found.append(f"metric: choose one of {', '.join(METRIC_RULES)}")
    if fields.direction not in DIRECTIONS:
        found.append("direction: choose at_least or at_most")
    for factor, value in fields.scope.items():
        if factor not in SCOPE_FACTORS:
            found.append(f"scope: {factor!r} is not one of {', '.join(SCOPE_FACTORS)}")
            continue
        try:
            get_term(session, factor, value)
        except SurveysError as error:
            found.append(f"{factor}: {error}")
    if fields.label is not None and len(fields.label) > LABEL_LENGTH:
        found.append(f"label: at most {LABEL_LENGTH} characters")
    if found:
        return found
    candidate = {"key": "target", "metric": fields.metric, "threshold": fields.threshold}
    candidate["direction"] = fields.direction
    if fields.subject:
        candidate["subject"] = fields.subject
    document = Document({**row.definition, "targets": [candidate]}, "target", {})
    return [
        f"{problem.field.removeprefix('targets[1].')}: {problem.message}"
        for problem in check_targets(document)
    ]


def applies_to(session: Session, target: Target, row: InstrumentVersion) -> bool:
    """Whether a stored target fits instrument version ``row``."""
    return target.instrument_key == row.key and not problems(session, row, fields_of(target))


def fields_of(target: Target) -> TargetFields:
    return TargetFields(
        metric=target.metric,
        threshold=target.threshold,
        direction=target.direction,
        subject=target.subject,
        scope=dict(target.scope or {}),
        label=target.label,
    )


# Changing --------------------------------------------------------------------------------------
def create_target(
    session: Session, row: InstrumentVersion, key: str, fields: TargetFields, *, actor: str
) -> Target:
    """A new target of ``row``'s instrument (checked against that version)."""
    check_key(key, "target key", KEY_LENGTH - len(PREFIX))
    if session.scalar(select(Target.id).where(Target.key == key)) is not None:
        raise TargetError(f"key: a target with key {key!r} exists already")
    _check(session, row, fields)
    target = Target(key=key, instrument_key=row.key, created_at=utcnow())
    _assign(target, fields)
    session.add(target)
    session.flush()
    audit.record(session, actor, "target.created", _ref(target), _detail(target))
    return target


def update_target(
    session: Session, target: Target, row: InstrumentVersion, fields: TargetFields, *, actor: str
) -> Target:
    """Change a target that is not retired (checked against version ``row`` of its instrument)."""
    if target.retired_at is not None:
        raise TargetError("this target is retired; create a new one instead")
    if row.key != target.instrument_key:
        raise TargetError("a target stays with its instrument")
    _check(session, row, fields)
    _assign(target, fields)
    session.flush()
    audit.record(session, actor, "target.updated", _ref(target), _detail(target))
    return target


def retire_target(session: Session, target: Target, *, actor: str) -> Target:
    """End a target: it is no longer assessed, and stays listed as retired."""
    if target.retired_at is None:
        target.retired_at = utcnow()
        session.flush()
        audit.record(session, actor, "target.retired", _ref(target))
    return target


def _check(session: Session, row: InstrumentVersion, fields: TargetFields) -> None:
    found = problems(session, row, fields)
    if found:
        raise TargetError("; ".join(found))


def _assign(target: Target, fields: TargetFields) -> None:
    target.metric = fields.metric
    target.subject = fields.subject or None
    target.threshold = float(fields.threshold)
    target.direction = fields.direction
    target.scope = {
        factor: fields.scope[factor] for factor in SCOPE_FACTORS if factor in fields.scope
    }
    target.label = " ".join(fields.label.split()) if fields.label else None


def _ref(target: Target) -> str:
    return f"target:{target.id}"


def _detail(target: Target) -> dict[str, Any]:
    return {
        "instrument": target.instrument_key,
        "metric": target.metric,
        "subject": target.subject,
        "threshold": target.threshold,
        "direction": target.direction,
        **target.scope,
    }


# Reading ---------------------------------------------------------------------------------------
def list_targets(
    session: Session, instrument_key: str | None = None, *, retired: bool = True
) -> list[Target]:
    """Stored targets (of one instrument), active first, then retired, by key."""
    query = select(Target).order_by(Target.retired_at.is_not(None), Target.key)
    if instrument_key is not None:
        query = query.where(Target.instrument_key == instrument_key)
    if not retired:
        query = query.where(Target.retired_at.is_(None))
    return list(session.scalars(query))


def get_target(session: Session, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None:
        raise NotFoundError(f"there is no target {target_id}")
    return target


def spec_of(target: Target) -> TargetSpec:
    """The stored target as the assessment takes it (key prefixed ``db-``)."""
    return TargetSpec(
        key=PREFIX + target.key,
        metric=target.metric,
        threshold=target.threshold,
        direction=target.direction,
        subject=target.subject,
        scope=tuple(
            (factor, target.scope[factor]) for factor in SCOPE_FACTORS if factor in target.scope
        ),
        label=Text.of(target.label) if target.label else None,
    )


def with_database_targets(
    session: Session, row: InstrumentVersion, instrument: Instrument | None = None
) -> Instrument:
    """Instrument version ``row`` carrying its file's targets and then every active stored
    target that fits it: what the dashboard and the PDF assess (the report names a target by
    the label the instrument carries)."""
    instrument = instrument or instrument_of(row)
    stored = [
        spec_of(target)
        for target in list_targets(session, row.key, retired=False)
        if applies_to(session, target, row)
    ]
    if not stored:
        return instrument
    return dataclasses.replace(instrument, targets=(*instrument.targets, *stored))


def subject_choices(row: InstrumentVersion) -> dict[str, Sequence[str]]:
    """Per metric, the dimensions or items of version ``row`` it can take as subject."""
    document = Document(row.definition, "target", {})
    choices: dict[str, Sequence[str]] = {}
    for metric, rule in METRIC_RULES.items():
        keys = document.dimensions if rule.kind == "dimension" else document.items
        choices[metric] = [key for key in keys if rule.accepts(document, key)]
    return choices


__all__ = [
    "DIRECTIONS",
    "PREFIX",
    "SCOPE_FACTORS",
    "TargetError",
    "TargetFields",
    "applies_to",
    "create_target",
    "get_target",
    "list_targets",
    "problems",
    "retire_target",
    "spec_of",
    "subject_choices",
    "update_target",
    "with_database_targets",
]
