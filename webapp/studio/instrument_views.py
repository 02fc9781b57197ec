"""Instruments in the studio: the list of versions, upload (check, then store), a version's
page, its preview as respondents see it, what changed between two versions, and the
reliability table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from werkzeug.utils import secure_filename

from surveys.clock import as_utc
from surveys.db import write_session
from surveys.errors import InstrumentError, InstrumentImmutableError, InstrumentProblem
from surveys.instrument import Instrument
from surveys.instrument_loader import MAX_BYTES, load_instrument_text
from surveys.models import Campaign, InstrumentVersion, Response
from surveys.services import campaigns, instruments
from webapp.database import get_engine, get_session, release_session
from webapp.forms.response_form import build_response_form, survey_pages
from webapp.studio.blueprint import bp
from webapp.studio.diff import diff_definitions
from webapp.studio.forms import UploadInstrumentForm
from webapp.studio.reliability import reliability_view

#: Longest file name quoted back in problems.
NAME_LENGTH = 80
#: Campaigns listed on the front page.
RECENT_CAMPAIGNS = 10


@dataclass(frozen=True, slots=True)
class VersionRow:
    row: InstrumentVersion
    campaigns: int
    responses: int


def version_rows() -> list[VersionRow]:
    """Every stored version with its campaign and response counts (two grouped queries)."""
    session = get_session()
    campaign_counts = dict(
        session.execute(
            select(Campaign.instrument_id, func.count()).group_by(Campaign.instrument_id)
        ).all()
    )
    response_counts = dict(
        session.execute(
            select(Response.instrument_id, func.count()).group_by(Response.instrument_id)
        ).all()
    )
    return [
        VersionRow(row, campaign_counts.get(row.id, 0), response_counts.get(row.id, 0))
        for row in instruments.list_instruments(session)
    ]


def version_or_404(key: str, version: int) -> InstrumentVersion:
    row = instruments.get_instrument(get_session(), key, version)
    if row is None:
        abort(404)
    return row


@bp.get("/")
def index() -> ResponseReturnValue:
    """The studio's front page: instruments and campaigns at a glance."""
    every = campaigns.list_campaigns(get_session())
    states = Counter(campaign.state() for campaign in every)
    recent = sorted(every, key=lambda campaign: as_utc(campaign.opens_at), reverse=True)
    return render_template(
        "studio/index.html",
        versions=version_rows(),
        campaigns=every,
        states=states,
        recent=recent[:RECENT_CAMPAIGNS],
    )


@bp.get("/instruments")
def instrument_list() -> ResponseReturnValue:
    return _list_page(UploadInstrumentForm())


def _list_page(
    form: UploadInstrumentForm,
    *,
    problems: list[InstrumentProblem] | None = None,
    refusal: str | None = None,
    checked: Instrument | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    page = render_template(
        "studio/instruments.html",
        form=form,
        versions=version_rows(),
        problems=problems or [],
        refusal=refusal,
        checked=checked,
        max_bytes=MAX_BYTES,
    )
    return page, status


@bp.post("/instruments")
def instrument_upload() -> ResponseReturnValue:
    """Check an uploaded YAML file and, when asked and valid, store it as a version. Every
    problem is listed with its line and field; nothing is stored unless all is well."""
    form = UploadInstrumentForm()
    if not form.validate_on_submit():
        return _list_page(form, status=422)
    storage = form.file.data
    name = (secure_filename(storage.filename or "") or "upload.yaml")[:NAME_LENGTH]
    data = storage.stream.read(MAX_BYTES + 1)
    try:
        loaded = load_instrument_text(data, name)
    except InstrumentError as error:
        return _list_page(form, problems=error.problems, status=422)
    if request.form.get("action") != "store":
        return _list_page(form, checked=loaded)
    text = data.decode("utf-8-sig")
    release_session()
    try:
        with write_session(get_engine()) as session:
            row = instruments.register_instrument(session, loaded, text)
            key, version = row.key, row.version
    except InstrumentImmutableError as error:
        return _list_page(form, refusal=str(error), status=409)
    flash(f"Stored {key} version {version}.")
    return redirect(url_for("studio.instrument_detail", key=key, version=version), 303)


@bp.get("/instruments/<key>/<int:version>")
def instrument_detail(key: str, version: int) -> ResponseReturnValue:
    row = version_or_404(key, version)
    session = get_session()
    instrument = instruments.instrument_of(row)
    others = [other.version for other in instruments.list_instruments(session) if other.key == key]
    return render_template(
        "studio/instrument.html",
        row=row,
        instrument=instrument,
        versions=others,
        answered=instruments.has_responses(session, row),
        campaigns=campaigns.list_campaigns(session, instrument_row=row),
        pages=survey_pages(instrument),
    )


@bp.get("/instruments/<key>/<int:version>/preview")
def instrument_preview(key: str, version: int) -> ResponseReturnValue:
    """Every page of the survey as a respondent sees it, in one language, drawn by the survey
    page's own form builder and macros; the controls are disabled and there is no form to
    submit."""
    row = version_or_404(key, version)
    instrument = instruments.instrument_of(row)
    lang = request.args.get("lang", "")
    if lang not in instrument.languages:
        lang = instrument.languages[0]
    pages = [
        build_response_form(instrument, lang, spec.index)(formdata=None, meta={"csrf": False})
        for spec in survey_pages(instrument)
    ]
    return render_template(
        "studio/preview.html",
        row=row,
        instrument=instrument,
        lang=lang,
        pages=pages,
        title=instrument.title.get(lang),
        description=instrument.description.get(lang) if instrument.description else None,
    )


@bp.get("/instruments/<key>/diff")
def instrument_diff(key: str) -> ResponseReturnValue:
    """What changed from version ``from`` to version ``to`` (GET parameters)."""
    session = get_session()
    versions = [row for row in instruments.list_instruments(session) if row.key == key]
    if not versions:
        abort(404)
    numbers = [row.version for row in versions]
    old_number = request.args.get("from", type=int) or (
        numbers[-2] if len(numbers) > 1 else numbers[0]
    )
    new_number = request.args.get("to", type=int) or numbers[-1]
    by_number = {row.version: row for row in versions}
    if old_number not in by_number or new_number not in by_number:
        abort(404)
    old, new = by_number[old_number], by_number[new_number]
    return render_template(
        "studio/diff.html",
        key=key,
        numbers=numbers,
        old=old,
        new=new,
        diff=diff_definitions(old.definition, new.definition),
    )


@bp.get("/instruments/<key>/<int:version>/reliability")
def instrument_reliability(key: str, version: int) -> ResponseReturnValue:
    """Cronbach's alpha per dimension and measure for the version's responses (one campaign's
    with ``?campaign=KEY``)."""
    row = version_or_404(key, version)
    campaign_key = request.args.get("campaign") or None
    session = get_session()
    fielded = campaigns.list_campaigns(session, instrument_row=row)
    if campaign_key is not None and campaign_key not in {c.key for c in fielded}:
        abort(404)
    version_id = row.id
    instrument = instruments.instrument_of(row)
    release_session()
    view = reliability_view(get_engine(), version_id, instrument, campaign_key)
    return render_template(
        "studio/reliability.html",
        key=key,
        version=version,
        instrument=instrument,
        campaign_key=campaign_key,
        campaign_keys=[c.key for c in fielded],
        view=view,
        item_text=lambda name: _item_text(instrument, name),
    )


def _item_text(instrument: Instrument, name: str) -> str:
    """The text of item ``name`` (an item key or one of its slot names); empty if unknown."""
    try:
        return instrument.item(name.partition("__")[0]).text.get()
    except KeyError:
        return ""
