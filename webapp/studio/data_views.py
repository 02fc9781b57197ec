"""A campaign's data in the studio: import a responses CSV (all or nothing, every row problem
shown), export CSV, XLSX and SPSS, and erase one respondent's response on request."""

from __future__ import annotations

import io
from collections.abc import Callable

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as HttpResponse

from surveys import exports
from surveys.db import read_session
from surveys.errors import ImportRowsError, SurveysError
from surveys.instrument import Instrument
from surveys.models import Source
from surveys.response_table import export_response_table, import_response_table
from surveys.services import campaigns, instruments
from surveys.services.responses import response_records
from webapp.database import get_engine, release_session
from webapp.studio.blueprint import actor, bp
from webapp.studio.campaign_views import CSV_MEDIA_TYPE, campaign_or_404, campaign_page
from webapp.studio.erasure import erase_on_request
from webapp.studio.forms import EraseForm, ImportForm

Writer = Callable[..., int]
#: Export formats: media type, file extension and writer of records (None: the CSV service).
FORMATS: dict[str, tuple[str, Writer | None]] = {
    "csv": (CSV_MEDIA_TYPE, None),
    "xlsx": (exports.XLSX_MEDIA_TYPE, exports.write_xlsx),
    "sav": (exports.SAV_MEDIA_TYPE, exports.write_sav),
}


@bp.post("/campaigns/<campaign_key>/import")
def campaign_import(campaign_key: str) -> ResponseReturnValue:
    """Import a CSV in the response table format: every row is checked first; any problem
    stores nothing and each is listed with its row and column."""
    form = ImportForm()
    if not form.validate_on_submit():
        return campaign_page(campaign_key, forms={"import": form}, status=422)
    campaign_or_404(campaign_key)
    data = form.responses.data.stream.read()
    release_session()
    try:
        result = import_response_table(
            get_engine(), data, campaign_key=campaign_key, source=Source.IMPORT
        )
    except ImportRowsError as error:
        return campaign_page(campaign_key, problems={"import": error.problems}, status=422)
    except SurveysError as error:
        return campaign_page(campaign_key, refusals={"import": str(error)}, status=422)
    flash(
        f"Imported {result.added} responses; {result.duplicates} were stored already and "
        "were skipped."
    )
    return redirect(url_for("studio.campaign_detail", campaign_key=campaign_key) + "#data", 303)


@bp.get("/campaigns/<campaign_key>/export.<fmt>")
def campaign_export(campaign_key: str, fmt: str) -> ResponseReturnValue:
    """The campaign's responses as CSV, XLSX or SPSS .sav (labels in ``?lang=``)."""
    if fmt not in FORMATS:
        abort(404)
    campaign_or_404(campaign_key)
    media_type, writer = FORMATS[fmt]
    lang = request.args.get("lang") or None
    release_session()
    if writer is None:
        text = io.StringIO()
        export_response_table(get_engine(), campaign_key=campaign_key, stream=text)
        body = text.getvalue().encode("utf-8")
    else:
        stream = io.BytesIO()
        with read_session(get_engine()) as session:
            campaign = campaigns.campaign_or_error(session, campaign_key)
            instrument = instruments.instrument_of(campaign.instrument)
            records = response_records(
                session, instrument_row=campaign.instrument, campaign_ids=[campaign.id]
            )
            writer(records, instrument, stream, language=_language(instrument, lang))
        body = stream.getvalue()
    reply = HttpResponse(body, mimetype=media_type)
    reply.headers["Content-Disposition"] = f'attachment; filename="{campaign_key}-responses.{fmt}"'
    return reply


def _language(instrument: Instrument, lang: str | None) -> str:
    return lang if lang in instrument.languages else instrument.languages[0]


@bp.post("/campaigns/<campaign_key>/erase")
def campaign_erase(campaign_key: str) -> ResponseReturnValue:
    """Erase one respondent's response (by their link, token or invitation id), recorded in
    the audit log; the aggregates are kept right (``webapp.studio.erasure``)."""
    form = EraseForm()
    if not form.validate_on_submit():
        return campaign_page(campaign_key, forms={"erase": form}, status=422)
    campaign_or_404(campaign_key)
    who = actor()
    release_session()
    erased = erase_on_request(get_engine(), campaign_key, str(form.reference.data), actor=who)
    if erased is None:
        refusal = (
            "No invitation of this campaign matches; it may have been erased already. "
            "Nothing was changed."
        )
        return campaign_page(
            campaign_key, forms={"erase": form}, refusals={"erase": refusal}, status=404
        )
    what = "its response and the invitation" if erased.responses else "the invitation (unanswered)"
    flash(f"Erased {what} (invitation {erased.invitation_id}); recorded in the audit log.")
    return redirect(url_for("studio.campaign_detail", campaign_key=campaign_key) + "#data", 303)
