"""Segments, stages and channels: the organisation's small taxonomy, kept as data.

The defaults of design.md are seeded into an empty table by ``ensure_defaults``; after that the
terms are the organisation's to add, rename and remove (``gapmeter segment|stage|channel ...``).
Keys are short slugs, because they travel in CSV cells, URLs and filters; labels are free text.
A term that campaigns, invitations or responses use cannot be removed, only renamed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.errors import NotFoundError, SurveysError
from surveys.models import Campaign, Channel, Invitation, Response, Segment, Stage

Kind = Literal["segment", "stage", "channel"]
Term = Segment | Stage | Channel

#: The segment of a response nothing classified (no invitation, no classification answer and no
#: campaign segment). It is not a term of the taxonomy.
UNCLASSIFIED = "unclassified"

KEY_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?")
KEY_LENGTH = 40
LABEL_LENGTH = 120

MODELS: dict[str, type[Term]] = {"segment": Segment, "stage": Stage, "channel": Channel}

DEFAULTS: dict[str, tuple[tuple[str, str], ...]] = {
    "segment": (
        ("consumer", "Consumer"),
        ("small_business", "Small business"),
        ("enterprise", "Enterprise"),
    ),
    "stage": (
        ("pre_sales", "Pre-sales"),
        ("purchase", "Purchase"),
        ("onboarding", "Onboarding"),
        ("after_sales", "After-sales support"),
        ("renewal", "Renewal"),
    ),
    "channel": (
        ("web", "Web"),
        ("hotline", "Hotline"),
        ("store", "Store"),
        ("email", "Email"),
    ),
}


class TaxonomyError(SurveysError):
    """A term that cannot be added, renamed or removed as asked."""


def check_key(value: str, what: str, max_length: int = KEY_LENGTH) -> str:
    """``value`` if it is a slug (lower-case letters, digits, ``_`` and ``-`` inside), else a
    ``TaxonomyError`` naming ``what``. Campaign keys use the same rule."""
    if not isinstance(value, str) or not KEY_PATTERN.fullmatch(value):
        shown = repr(value)[:60]
        raise TaxonomyError(
            f"{what} {shown} is not a valid key: use lower-case letters, digits, '_' and '-', "
            "starting and ending with a letter or digit"
        )
    if len(value) > max_length:
        raise TaxonomyError(f"{what} {value!r} is longer than {max_length} characters")
    return value


def _model(kind: str) -> type[Term]:
    try:
        return MODELS[kind]
    except KeyError:
        raise TaxonomyError(
            f"unknown kind of term {kind!r}; use one of {', '.join(MODELS)}"
        ) from None


def _label(label: str, kind: str, key: str) -> str:
    cleaned = " ".join(str(label).split())
    if not cleaned:
        raise TaxonomyError(f"{kind} {key!r}: the label is empty")
    if len(cleaned) > LABEL_LENGTH:
        raise TaxonomyError(f"{kind} {key!r}: the label is longer than {LABEL_LENGTH} characters")
    return cleaned


def ensure_defaults(session: Session) -> int:
    """Seed the defaults of every kind whose table is empty; return how many terms were added.

    A kind that has any term is left alone, so removed or renamed defaults stay as they are.
    """
    added = 0
    for kind, defaults in DEFAULTS.items():
        model = MODELS[kind]
        if session.scalar(select(func.count()).select_from(model)):
            continue
        for position, (key, label) in enumerate(defaults):
            session.add(model(key=key, label=label, position=position))
            added += 1
    session.flush()
    return added


def list_terms(session: Session, kind: str) -> list[Term]:
    """The terms of ``kind`` in their display order."""
    model = _model(kind)
    return list(session.scalars(select(model).order_by(model.position, model.key)))


def term_keys(session: Session, kind: str) -> frozenset[str]:
    model = _model(kind)
    return frozenset(session.scalars(select(model.key)))


def get_term(session: Session, kind: str, key: str) -> Term:
    """The term, or a ``NotFoundError`` listing the known keys."""
    term = session.get(_model(kind), key)
    if term is None:
        raise NotFoundError(unknown_term_message(kind, key, term_keys(session, kind)))
    return term


def unknown_term_message(kind: str, key: str, known: Sequence[str] | frozenset[str]) -> str:
    listing = ", ".join(sorted(known)) or "none yet"
    return (
        f"unknown {kind} {str(key)[:60]!r} (known: {listing}); "
        f"add it with: gapmeter {kind} add KEY LABEL"
    )


def add_term(session: Session, kind: str, key: str, label: str) -> Term:
    model = _model(kind)
    check_key(key, kind)
    if session.get(model, key) is not None:
        raise TaxonomyError(f"{kind} {key!r} exists already (rename it to change its label)")
    last = session.scalar(select(func.max(model.position)))
    term = model(key=key, label=_label(label, kind, key), position=(last or 0) + 1)
    session.add(term)
    session.flush()
    return term


def rename_term(session: Session, kind: str, key: str, label: str) -> Term:
    """Change a term's label; its key, which stored data refers to, stays."""
    term = get_term(session, kind, key)
    term.label = _label(label, kind, key)
    session.flush()
    return term


def remove_term(session: Session, kind: str, key: str) -> None:
    """Delete an unused term; a used one is refused with what uses it."""
    term = get_term(session, kind, key)
    uses = _uses(session, kind, key)
    if uses:
        listing = " and ".join(
            f"{count} {what if count != 1 else what.removesuffix('s')}"
            for what, count in uses.items()
        )
        raise TaxonomyError(
            f"{kind} {key!r} is used by {listing}; it cannot be removed (rename it instead)"
        )
    session.delete(term)
    session.flush()


def _uses(session: Session, kind: str, key: str) -> dict[str, int]:
    counted = [
        ("campaigns", getattr(Campaign, kind)),
        ("responses", getattr(Response, kind)),
    ]
    if kind == "segment":
        counted.insert(1, ("invitations", Invitation.segment))
    uses = {}
    for what, column in counted:
        count = session.scalar(select(func.count()).where(column == key)) or 0
        if count:
            uses[what] = count
    return uses
