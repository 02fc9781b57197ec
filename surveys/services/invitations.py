"""Invitations: one-time personal links for a campaign (security.md T12).

A token carries 192 bits from ``secrets`` and is shown once, when it is issued; only its SHA-256
is stored, so a copy of the database holds no usable link. A lookup hashes the token and finds
the row by its hash (an index lookup, so no comparison of secrets happens in Python).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from surveys.clock import utcnow
from surveys.csv_safety import ProblemList, csv_writer, neutralise_cell, read_csv
from surveys.errors import ImportRowsError, RowProblem, SurveysError
from surveys.models import Campaign, Invitation
from surveys.taxonomy import get_term, term_keys, unknown_term_message

#: Random bytes in a token (192 bits; at least 128 are required).
TOKEN_BYTES = 24
#: Longest token ``find_invitation`` will hash; anything longer is not one of ours.
MAX_TOKEN_LENGTH = 128
MAX_COUNT = 1_000_000
ATTRIBUTE_NAME_LENGTH = 64
ATTRIBUTE_VALUE_LENGTH = 500
#: Columns of the links file that attributes cannot be called.
RESERVED_COLUMNS = ("link", "segment")
BATCH = 5000


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A new invitation as handed out: the token appears here once and is stored nowhere."""

    token: str
    segment: str
    attributes: Mapping[str, str] = field(default_factory=dict)


class InvitationError(SurveysError):
    """Invitations that cannot be issued as asked."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def lookup_hash(token: str | None) -> str | None:
    """The hash ``token`` is looked up by, or None when it cannot be a token (empty or longer
    than ``MAX_TOKEN_LENGTH``: not worth hashing)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token_hash(token)


def find_invitation(session: Session, token: str | None) -> Invitation | None:
    """The invitation of ``token``, looked up by hash; None for an unknown token."""
    hashed = lookup_hash(token)
    if hashed is None:
        return None
    return session.scalar(select(Invitation).where(Invitation.token_hash == hashed))


def issue_invitations(
    session: Session,
    campaign: Campaign,
    count: int,
    segment: str,
    attributes: Mapping[str, str] | None = None,
) -> list[IssuedInvitation]:
    """``count`` new invitations to ``campaign`` for respondents of ``segment``."""
    if not 1 <= count <= MAX_COUNT:
        raise InvitationError(f"issue from 1 to {MAX_COUNT:,} invitations at a time, not {count}")
    get_term(session, "segment", segment)
    checked = dict(attributes or {})
    problems = _attribute_problems(checked.keys(), RESERVED_COLUMNS) + [
        RowProblem(1, name, message)
        for name, value in checked.items()
        if (message := _value_problem(value))
    ]
    if problems:
        raise InvitationError("; ".join(f"attribute {p.column}: {p.message}" for p in problems))
    issued = [IssuedInvitation(_new_token(), segment, checked) for _ in range(count)]
    _store(session, campaign, issued)
    return issued


def invitations_from_csv(
    session: Session, campaign: Campaign, stream: IO[str] | IO[bytes]
) -> list[IssuedInvitation]:
    """One invitation per row of a respondents file: a ``segment`` column, and any other
    columns kept as the invitation's attributes (region, product...). Every row is checked
    first; any problem raises ``ImportRowsError`` and nothing is issued."""
    table = read_csv(stream)
    problems = ProblemList()
    for problem in table.problems:
        problems.add(problem)
    header = table.header
    if not header:
        problems.add(RowProblem(1, None, "the file is empty; the first row must name columns"))
    elif "segment" not in header:
        problems.add(RowProblem(1, "segment", "the segment column is missing"))
    for problem in _attribute_problems(header, ("link",)):
        problems.add(problem)
    if len(table.rows) > MAX_COUNT:
        problems.add(RowProblem(1, None, f"at most {MAX_COUNT:,} respondents per file"))
    known = term_keys(session, "segment")
    wanted: list[IssuedInvitation] = []
    for row in table.rows:
        if len(row.cells) != len(header):
            message = f"has {len(row.cells)} cells where the header names {len(header)} columns"
            problems.add(RowProblem(row.number, None, message))
            continue
        values = dict(zip(header, row.cells, strict=True))
        segment = values.pop("segment", "").strip()
        if "segment" in header and (message := _segment_problem(segment, known)):
            problems.add(RowProblem(row.number, "segment", message))
        for name, value in values.items():
            if message := _value_problem(value):
                problems.add(RowProblem(row.number, name, message))
        attributes = {name: value for name, value in values.items() if value != ""}
        wanted.append(IssuedInvitation(_new_token(), segment, attributes))
    if problems:
        raise ImportRowsError(problems.final())
    _store(session, campaign, wanted)
    return wanted


def write_invitation_links(
    issued: Iterable[IssuedInvitation], base_url: str, stream: IO[str]
) -> int:
    """Write a CSV of personal links ``<base_url>/i/<token>`` with each respondent's segment
    and attributes (every text cell neutralised for spreadsheets); return the row count."""
    issued = list(issued)
    base = base_url.rstrip("/")
    names: dict[str, None] = {}
    for invitation in issued:
        names.update(dict.fromkeys(invitation.attributes))
    writer = csv_writer(stream)
    writer.writerow([neutralise_cell(name) for name in (*RESERVED_COLUMNS, *names)])
    for invitation in issued:
        cells = [f"{base}/i/{invitation.token}", invitation.segment]
        cells += [invitation.attributes.get(name, "") for name in names]
        writer.writerow([neutralise_cell(cell) for cell in cells])
    return len(issued)


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _store(session: Session, campaign: Campaign, issued: list[IssuedInvitation]) -> None:
    now = utcnow()
    for start in range(0, len(issued), BATCH):
        rows = [
            {
                "campaign_id": campaign.id,
                "token_hash": token_hash(invitation.token),
                "segment": invitation.segment,
                "attributes": dict(invitation.attributes),
                "created_at": now,
                "used_at": None,
            }
            for invitation in issued[start : start + BATCH]
        ]
        session.execute(insert(Invitation), rows)


def _attribute_problems(names: Iterable[str], reserved: tuple[str, ...]) -> list[RowProblem]:
    """Problems of attribute names (the header of a respondents file is row 1)."""
    row = 1
    problems, seen = [], set()
    for name in names:
        shown = str(name)[:ATTRIBUTE_NAME_LENGTH]
        if not str(name).strip():
            problems.append(RowProblem(row, None, "a column has no name"))
        elif name in seen:
            problems.append(RowProblem(row, shown, "the column appears twice"))
        elif name in reserved:
            problems.append(RowProblem(row, shown, "is reserved for the links file"))
        elif len(name) > ATTRIBUTE_NAME_LENGTH:
            message = f"a column name is longer than {ATTRIBUTE_NAME_LENGTH} characters"
            problems.append(RowProblem(row, shown, message))
        seen.add(name)
    return problems


def _segment_problem(segment: str, known: frozenset[str]) -> str | None:
    if not segment:
        return "the segment is empty"
    if segment not in known:
        return unknown_term_message("segment", segment, known)
    return None


def _value_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be text"
    if len(value) > ATTRIBUTE_VALUE_LENGTH:
        return f"is longer than {ATTRIBUTE_VALUE_LENGTH} characters"
    if "\x00" in value:
        return "contains a NUL character, which cannot be stored"
    return None
