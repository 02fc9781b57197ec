"""The audit trail: logins, account changes, API keys created and revoked, erasures.

An entry names actors and subjects by reference (``user:3``, ``apikey:7``, ``cli``), never by
e-mail address, and its ``detail`` holds short plain values only. ``record`` refuses anything
that looks like personal data or a secret, so a careless caller fails in tests rather than
leaking into a table that is kept after an erasure (security.md P4, P6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.errors import SurveysError
from surveys.models import AuditEntry

CLI = "cli"
ANONYMOUS = "anonymous"
#: Keys a detail may never carry, whatever the value.
FORBIDDEN_KEYS = frozenset(
    {"password", "token", "key", "secret", "email", "cookie", "session", "answer", "answers"}
)
DETAIL_VALUE_LENGTH = 120
DETAIL_KEYS = 12

Scalar = str | int | float | bool | None


class AuditError(SurveysError):
    """An audit entry that would store personal data or a secret."""


def user_ref(user_id: int) -> str:
    return f"user:{user_id}"


def api_key_ref(key_id: int) -> str:
    return f"apikey:{key_id}"


def record(
    session: Session,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Scalar] | None = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction (it commits with what it describes)."""
    clean = _checked_detail(detail or {})
    for name, value, limit in (("actor", actor, 40), ("action", action, 60)):
        _check_text(name, value, limit)
    if subject is not None:
        _check_text("subject", subject, 100)
    entry = AuditEntry(actor=actor, action=action, subject=subject, detail=clean)
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session,
    *,
    action: str | None = None,
    subject: str | None = None,
    limit: int = 200,
) -> Sequence[AuditEntry]:
    """The newest entries first, optionally of one action (prefix ``login.`` matches all login
    events) or one subject."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(
            AuditEntry.action.startswith(action)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    return session.scalars(query).all()


def _check_text(name: str, value: str, limit: int) -> None:
    if not value or len(value) > limit or "@" in value or not value.isprintable():
        raise AuditError(f"audit {name} {value[:40]!r} must be a short reference, not data")


def _checked_detail(detail: Mapping[str, Any]) -> dict[str, Scalar]:
    if len(detail) > DETAIL_KEYS:
        raise AuditError(f"audit detail has {len(detail)} keys; at most {DETAIL_KEYS}")
    clean: dict[str, Scalar] = {}
    for key, value in detail.items():
        if key.lower() in FORBIDDEN_KEYS or any(word in key.lower() for word in ("pass", "tok")):
            raise AuditError(f"audit detail may not carry {key!r}")
        if not isinstance(value, str | int | float | bool | type(None)):
            raise AuditError(f"audit detail {key!r} must be a plain value")
        if isinstance(value, str) and (len(value) > DETAIL_VALUE_LENGTH or "@" in value):
            raise AuditError(f"audit detail {key!r} must be short and hold no address")
        clean[key] = value
    return clean
