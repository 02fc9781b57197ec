"""Erasure on request from the studio: find the invitation, fold the aggregates, then delete
under the refreshers' lock, so the erased answers can reach no aggregate afterwards.

Why this order (``analysis.store`` explains the refresh): a refresh reads new responses in a
snapshot and writes their statistics later. Folding first moves the watermark past the response,
so no refresh still to come reads it as new, and a refresh that read it before must start again
(its watermark check fails). The erasure then marks the response's cell stale while holding the
same lock the refresh's write takes (``BEGIN IMMEDIATE`` on SQLite, the per-version advisory
lock on PostgreSQL), so the mark cannot be overwritten by a refresh writing older statistics;
the next refresh recomputes the cell from the rows left.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from analysis.store import ADVISORY_NAMESPACE, refresh_aggregates
from surveys.db import read_session, write_session
from surveys.erasure import Erasure, erase_invitation, find_by_reference
from surveys.models import Invitation

#: A personal link ``.../i/<token>`` (query and fragment ignored).
_LINK = re.compile(r"/i/([A-Za-z0-9_-]+)")
ID_DIGITS = 18


def parse_reference(text: str) -> tuple[int | None, str | None]:
    """``(invitation_id, token)`` from what a researcher pasted: an id, a link or a token."""
    text = text.strip()
    if text.isdecimal() and len(text) <= ID_DIGITS:
        return int(text), None
    match = _LINK.search(text)
    if match:
        return None, match.group(1)
    return None, text or None


def _lock_refreshers(session: Session, version_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(ADVISORY_NAMESPACE, version_id)))


def erase_on_request(
    engine: Engine, campaign_key: str, reference: str, *, actor: str
) -> Erasure | None:
    """Erase the response of the invitation ``reference`` names, if it belongs to
    ``campaign_key``; None when there is no such invitation (unknown, another campaign's, or
    erased already: running an erasure twice changes nothing)."""
    invitation_id, token = parse_reference(reference)
    with read_session(engine) as session:
        found = find_by_reference(session, invitation_id=invitation_id, token=token)
        if found is None or found.campaign.key != campaign_key:
            return None
        found_id, version_id = found.id, found.campaign.instrument_id
    refresh_aggregates(engine, instrument_version_id=version_id)
    with write_session(engine) as session:
        _lock_refreshers(session, version_id)
        invitation = session.get(Invitation, found_id)
        if invitation is None:
            return None
        return erase_invitation(session, invitation, actor=actor)
