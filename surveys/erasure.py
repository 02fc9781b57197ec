"""Erasure on request: one respondent's response, found by their invitation, deleted for good
(security.md P4), with an audit entry that names no person.

``erase_invitation`` works in the caller's write transaction and deletes the response (and its
answers), then the invitation itself (its token hash and attributes are personal data too), so a
scan of every table finds nothing of the respondent; the audit entry keeps only the campaign and
the invitation's former row id. Running it again finds no invitation and does nothing.

Responses are otherwise append-only and the aggregate cells derived from them cannot subtract a
response exactly, so the response's cell is marked ``stale`` in the same transaction
(``surveys.models.aggregates``): the next refresh recomputes it from the rows left. The caller
must make sure no refresh folds the response in after it is gone: fold the aggregates first and
hold the refreshers' lock while erasing (``webapp.studio.erasure`` does both).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from surveys.clock import as_utc, utcnow
from surveys.models import AggregateCell, Answer, Campaign, Invitation, Response
from surveys.models.aggregates import new_etag
from surveys.services import audit
from surveys.services.invitations import find_invitation

ACTION = "response.erase"


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did: the campaign, the invitation's former id, responses deleted (0 or
    1) and aggregate cells marked for recomputation."""

    campaign_key: str
    invitation_id: int
    responses: int
    cells_marked: int


def find_by_reference(
    session: Session, *, invitation_id: int | None = None, token: str | None = None
) -> Invitation | None:
    """The invitation of a row id or of a token; None when there is none (or it was erased)."""
    if invitation_id is not None:
        return session.get(Invitation, invitation_id)
    if token:
        return find_invitation(session, token)
    return None


def erase_invitation(session: Session, invitation: Invitation, *, actor: str) -> Erasure:
    """Delete the response of ``invitation`` (if any), then the invitation, and record it."""
    campaign = session.get(Campaign, invitation.campaign_id)
    campaign_key = campaign.key if campaign is not None else "?"
    response = session.scalar(select(Response).where(Response.invitation_id == invitation.id))
    marked = 0
    if response is not None:
        marked = mark_cell_stale(session, response)
        session.execute(delete(Answer).where(Answer.response_id == response.id))
        session.execute(delete(Response).where(Response.id == response.id))
    invitation_id = invitation.id
    session.execute(delete(Invitation).where(Invitation.id == invitation_id))
    erased = Erasure(campaign_key, invitation_id, int(response is not None), marked)
    audit.record(
        session,
        actor,
        ACTION,
        subject=f"campaign:{campaign_key}"[:100],
        detail={
            "invitation_id": invitation_id,
            "responses": erased.responses,
            "cells_marked": marked,
        },
    )
    return erased


def mark_cell_stale(session: Session, response: Response) -> int:
    """Mark the aggregate cell holding ``response`` stale; return how many rows changed (0
    when the response was never folded into a cell)."""
    period = as_utc(response.submitted_at).strftime("%Y-%m")
    result = session.execute(
        update(AggregateCell)
        .where(
            AggregateCell.instrument_version_id == response.instrument_id,
            AggregateCell.campaign_id == response.campaign_id,
            AggregateCell.segment == response.segment,
            AggregateCell.stage == response.stage,
            AggregateCell.channel == response.channel,
            AggregateCell.period == period,
        )
        .values(stale=True, etag=new_etag(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
