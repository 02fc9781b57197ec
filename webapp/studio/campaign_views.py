"""Campaigns in the studio: list, create, a campaign's page (fielding counts, window,
invitations, data), open, close, and issuing invitations with the links file as the answer."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response as HttpResponse
from wtforms import SelectChoice

from surveys import taxonomy
from surveys.db import write_session
from surveys.erasure import ACTION as ERASE_ACTION
from surveys.errors import ImportRowsError, NotFoundError, RowProblem, SurveysError
from surveys.models import Access, Campaign, Response
from surveys.services import audit, campaigns, instruments, invitations
from webapp.database import get_engine, get_session, release_session
from webapp.respond.caches import campaign_cache
from webapp.studio.blueprint import bp
from webapp.studio.fielding import fielding
from webapp.studio.forms import (
    ActionForm,
    CampaignForm,
    EraseForm,
    ImportForm,
    InviteCountForm,
    InviteFileForm,
)

#: Largest respondents file read (bytes); the app's request limit applies first.
RESPONDENTS_MAX_BYTES = 1024 * 1024
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def campaign_or_404(key: str) -> Campaign:
    campaign = campaigns.get_campaign(get_session(), key)
    if campaign is None:
        abort(404)
    return campaign


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _term_choices(kind: str) -> list[SelectChoice]:
    return [SelectChoice(term.key, term.label) for term in taxonomy.list_terms(get_session(), kind)]


@bp.get("/campaigns")
def campaign_list() -> ResponseReturnValue:
    session = get_session()
    counts = dict(
        session.execute(
            select(Response.campaign_id, func.count()).group_by(Response.campaign_id)
        ).all()
    )
    return render_template(
        "studio/campaigns.html", campaigns=campaigns.list_campaigns(session), counts=counts
    )


def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    form.instrument.choices = [
        SelectChoice(f"{row.key}:{row.version}", f"{row.key} v{row.version} — {row.title}")
        for row in sorted(
            instruments.list_instruments(get_session()), key=lambda row: (row.key, -row.version)
        )
    ]
    form.stage.choices = _term_choices("stage")
    form.channel.choices = _term_choices("channel")
    form.segment.choices = [SelectChoice("", "— none —"), *_term_choices("segment")]
    return form


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new() -> ResponseReturnValue:
    """Create a campaign of a stored instrument version."""
    form = _campaign_form()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("studio/campaign_new.html", form=form), status
    key, _, version = str(form.instrument.data).rpartition(":")
    release_session()
    try:
        with write_session(get_engine()) as session:
            row = instruments.get_instrument(session, key, int(version))
            if row is None:
                raise NotFoundError(f"no instrument {key!r} version {version}")
            created = campaigns.create_campaign(
                session,
                key=str(form.key.data).strip(),
                name=str(form.name.data),
                instrument_row=row,
                stage=str(form.stage.data),
                channel=str(form.channel.data),
                segment=form.segment.data or None,
                access=Access(form.access.data),
                opens_at=_utc(form.opens_at.data),
                closes_at=_utc(form.closes_at.data),
            )
            campaign_key = created.key
    except SurveysError as error:
        form = _campaign_form()  # a fresh session for the choices
        return render_template("studio/campaign_new.html", form=form, refusal=str(error)), 422
    flash(f"Created campaign {campaign_key}.")
    return redirect(url_for("studio.campaign_detail", campaign_key=campaign_key), 303)


def campaign_page(
    campaign_key: str,
    *,
    forms: Mapping[str, FlaskForm] | None = None,
    problems: Mapping[str, list[RowProblem]] | None = None,
    refusals: Mapping[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The campaign's page; ``forms``, ``problems`` and ``refusals`` (by section: invite,
    invite_file, import, erase) replace the blank forms and say what went wrong where."""
    campaign = campaign_or_404(campaign_key)
    chosen: dict[str, Any] = {
        "action": ActionForm(),
        "invite": InviteCountForm(),
        "invite_file": InviteFileForm(),
        "import": ImportForm(),
        "erase": EraseForm(),
    }
    chosen.update(forms or {})
    chosen["invite"].segment.choices = _term_choices("segment")
    instrument = instruments.instrument_of(campaign.instrument)
    page = render_template(
        "studio/campaign.html",
        campaign=campaign,
        state=campaign.state(),
        instrument=instrument,
        fielding=fielding(get_session(), campaign.id),
        erasures=audit.entries(
            get_session(), action=ERASE_ACTION, subject=f"campaign:{campaign.key}", limit=20
        ),
        forms=chosen,
        problems=problems or {},
        refusals=refusals or {},
        base_url=str(current_app.config.get("GAPMETER_BASE_URL", "")).rstrip("/"),
    )
    return page, status


@bp.get("/campaigns/<campaign_key>")
def campaign_detail(campaign_key: str) -> ResponseReturnValue:
    return campaign_page(campaign_key)


def _set_window(campaign_key: str, opening: bool) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    campaign_or_404(campaign_key)
    release_session()
    with write_session(get_engine()) as session:
        if opening:
            campaigns.open_campaign(session, campaign_key)
        else:
            campaigns.close_campaign(session, campaign_key)
    campaign_cache().forget(campaign_key)  # this worker's survey pages see it at once
    flash(f"Campaign {campaign_key} is {'open' if opening else 'closed'} now.")
    return redirect(url_for("studio.campaign_detail", campaign_key=campaign_key), 303)


@bp.post("/campaigns/<campaign_key>/open")
def campaign_open(campaign_key: str) -> ResponseReturnValue:
    """Open now, with no closing date."""
    return _set_window(campaign_key, opening=True)


@bp.post("/campaigns/<campaign_key>/close")
def campaign_close(campaign_key: str) -> ResponseReturnValue:
    """Close now."""
    return _set_window(campaign_key, opening=False)


def _links_file(campaign_key: str, issued: list[invitations.IssuedInvitation]) -> HttpResponse:
    """The links CSV as a download (formula-neutralised by the service's writer)."""
    text = io.StringIO()
    base = str(current_app.config.get("GAPMETER_BASE_URL", "http://127.0.0.1:5000"))
    invitations.write_invitation_links(issued, base, text)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    reply = HttpResponse(text.getvalue().encode("utf-8"), mimetype=CSV_MEDIA_TYPE)
    reply.headers["Content-Disposition"] = (
        f'attachment; filename="{campaign_key}-links-{stamp}.csv"'
    )
    return reply


@bp.post("/campaigns/<campaign_key>/invitations")
def campaign_invite(campaign_key: str) -> ResponseReturnValue:
    """Issue ``count`` links for one segment; the answer is the links file (shown once)."""
    form = InviteCountForm()
    form.segment.choices = _term_choices("segment")
    if not form.validate_on_submit():
        return campaign_page(campaign_key, forms={"invite": form}, status=422)
    campaign_or_404(campaign_key)
    release_session()
    try:
        with write_session(get_engine()) as session:
            campaign = campaigns.campaign_or_error(session, campaign_key)
            issued = invitations.issue_invitations(
                session, campaign, int(form.count.data or 0), str(form.segment.data)
            )
    except SurveysError as error:
        return campaign_page(
            campaign_key, forms={"invite": form}, refusals={"invite": str(error)}, status=422
        )
    return _links_file(campaign_key, issued)


@bp.post("/campaigns/<campaign_key>/invitations/file")
def campaign_invite_file(campaign_key: str) -> ResponseReturnValue:
    """One link per row of a respondents CSV, all or none; the answer is the links file."""
    form = InviteFileForm()
    if not form.validate_on_submit():
        return campaign_page(campaign_key, forms={"invite_file": form}, status=422)
    campaign_or_404(campaign_key)
    data = form.respondents.data.stream.read(RESPONDENTS_MAX_BYTES + 1)
    if len(data) > RESPONDENTS_MAX_BYTES:
        refusal = f"The file is larger than {RESPONDENTS_MAX_BYTES:,} bytes; split it."
        return campaign_page(campaign_key, refusals={"invite_file": refusal}, status=413)
    release_session()
    try:
        with write_session(get_engine()) as session:
            campaign = campaigns.campaign_or_error(session, campaign_key)
            issued = invitations.invitations_from_csv(session, campaign, io.BytesIO(data))
    except ImportRowsError as error:
        return campaign_page(campaign_key, problems={"invite_file": error.problems}, status=422)
    except SurveysError as error:
        return campaign_page(campaign_key, refusals={"invite_file": str(error)}, status=422)
    return _links_file(campaign_key, issued)
