"""The JSON API, ``/api/v1``: post responses, read campaigns, instruments and assessments.

Every endpoint takes an API key only (``webapp.auth.apikeys``), never a session cookie, and is
rate-limited per key. ``POST /campaigns/<key>/responses`` answers 201 only after the responses
are committed (``submit_response`` / ``submit_batch`` return after the commit; security.md
§1.5); the ``Idempotency-Key`` is stored with the response, scoped to the API key, so a retry
returns the first reply and the same key with another body is refused (R7).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from analysis.results import AnalysisError
from analysis.store import assess_campaign
from surveys.clock import as_utc
from surveys.errors import CampaignClosedError, IdempotencyConflictError, NotFoundError
from surveys.models import Access, Campaign, InstrumentVersion, Source
from surveys.services import campaigns, instruments
from surveys.services.responses import SubmissionError, submit_batch, submit_response
from webapp.api.intake import idempotency_key, parse_intake, read_json
from webapp.api.openapi import PREFIX, VERSION_MAX, openapi_document
from webapp.api.problems import Problem, init_blueprint
from webapp.auth.apikeys import check_campaign_scope, current_client
from webapp.auth.policy import API, declare_blueprint
from webapp.database import get_engine, get_session, release_session

bp = Blueprint("api", __name__, url_prefix=PREFIX)
declare_blueprint(bp, API)
init_blueprint(bp)

#: Breakdown factors the assessment endpoint takes (``campaign`` is fixed by the URL).
BY_FACTORS = ("segment", "stage", "channel", "period")


# Reading --------------------------------------------------------------------------------------
@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.get("/campaigns")
def list_campaigns() -> ResponseReturnValue:
    scope = current_client().campaign_key
    rows = campaigns.list_campaigns(get_session())
    return {"campaigns": [campaign_json(row) for row in rows if scope in (None, row.key)]}


@bp.get("/campaigns/<key>")
def get_campaign(key: str) -> ResponseReturnValue:
    return campaign_json(_campaign(key))


@bp.get("/campaigns/<key>/assessment")
def get_assessment(key: str) -> ResponseReturnValue:
    """The statistics engine's assessment of the campaign (``?by=segment,period&from=&to=``)."""
    _campaign(key)
    by = [factor.strip() for factor in request.args.get("by", "").split(",") if factor.strip()]
    unknown = [factor for factor in by if factor not in BY_FACTORS]
    if unknown:
        raise Problem(
            422,
            f"by: unknown factor {unknown[0][:40]!r}; choose from {', '.join(BY_FACTORS)}",
        )
    options: dict[str, Any] = {
        "by": by,
        "date_from": _date_parameter("from"),
        "date_to": _date_parameter("to"),
    }
    if "period" in request.args:
        options["period"] = request.args["period"]
    release_session()
    try:
        assessment = assess_campaign(get_engine(), key, **options)
    except AnalysisError as error:
        raise Problem(422, str(error)) from None
    return jsonify(assessment.to_json())


@bp.get("/instruments")
def list_instruments() -> ResponseReturnValue:
    session = get_session()
    rows = instruments.list_instruments(session)
    allowed = _instrument_scope()
    return {
        "instruments": [
            instrument_json(row) for row in rows if allowed is None or row.id == allowed
        ]
    }


@bp.get(f"/instruments/<key>/<int(min=1, max={VERSION_MAX}):version>")
def get_instrument(key: str, version: int) -> ResponseReturnValue:
    row = instruments.get_instrument(get_session(), key, version)
    allowed = _instrument_scope()
    if allowed is not None and (row is None or row.id != allowed):
        raise Problem(403, "This API key is limited to a campaign of another instrument.")
    if row is None:
        raise Problem(404, f"There is no instrument {key[:64]!r} version {version}.")
    return {**instrument_json(row), "definition": row.definition}


# Posting --------------------------------------------------------------------------------------
@bp.post("/campaigns/<key>/responses")
def post_responses(key: str) -> ResponseReturnValue:
    """Store one response (``{"answers": ...}``) or a batch (``{"responses": [...]}``)."""
    check_campaign_scope(key)
    client = current_client()
    header_key = idempotency_key()
    body = read_json()
    session = get_session()
    campaign = _campaign(key)
    if campaign.access == Access.INVITATION:
        raise Problem(
            409,
            f"Campaign {key!r} takes answers by personal invitation only; "
            "the API posts to open campaigns.",
        )
    intake = parse_intake(session, instruments.instrument_of(campaign.instrument), body)
    release_session()  # the write takes its own connection; a request never holds two
    stored_key = f"api:{client.id}:{header_key}"
    try:
        if intake.batch:
            results = submit_batch(
                get_engine(),
                campaign_key=key,
                submissions=intake.submissions,
                source=Source.API,
                idempotency_key=stored_key,
                payload_hash=intake.payload_hash,
            )
        else:
            (submission,) = intake.submissions
            results = [
                submit_response(
                    get_engine(),
                    campaign_key=key,
                    answers=submission.answers,
                    source=Source.API,
                    idempotency_key=stored_key,
                    payload_hash=intake.payload_hash,
                    submitted_at=submission.submitted_at,
                    segment=submission.segment,
                )
            ]
    except IdempotencyConflictError:
        raise Problem(
            422,
            "This Idempotency-Key was used before with a different body; nothing was stored. "
            "Use a new key for a new submission, and the same key only to retry the same body.",
            kind="idempotency-conflict",
        ) from None
    except CampaignClosedError as error:
        state = "is not open yet" if error.reason == "not_open_yet" else "is closed"
        raise Problem(409, f"Campaign {key!r} {state}; nothing was stored.") from None
    except NotFoundError as error:
        raise Problem(404, f"{str(error)[:200]}; nothing was stored.") from None
    except SubmissionError as error:
        raise Problem(400, str(error)) from None
    replayed = all(result.replayed for result in results)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if intake.batch:
        reply = {
            "campaign": key,
            "replayed": replayed,
            "responses": [{"id": result.uid} for result in results],
        }
    else:
        reply = {"id": results[0].uid, "campaign": key, "replayed": replayed}
    return reply, 201, headers


# Helpers --------------------------------------------------------------------------------------
def campaign_json(row: Campaign) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "instrument": {"key": row.instrument.key, "version": row.instrument.version},
        "stage": row.stage,
        "channel": row.channel,
        "segment": row.segment,
        "access": str(row.access),
        "opens_at": as_utc(row.opens_at).isoformat(),
        "closes_at": as_utc(row.closes_at).isoformat() if row.closes_at is not None else None,
        "state": row.state(),
    }


def instrument_json(row: InstrumentVersion) -> dict[str, Any]:
    instrument = instruments.instrument_of(row)
    return {
        "key": row.key,
        "version": row.version,
        "title": row.title,
        "content_hash": row.content_hash,
        "slots": [slot.name for slot in instrument.slots()],
    }


def _campaign(key: str) -> Campaign:
    """The campaign (404), once the key's scope allows it (403 first: no probing)."""
    check_campaign_scope(key)
    row = campaigns.get_campaign(get_session(), key)
    if row is None:
        raise Problem(404, f"There is no campaign {key[:64]!r}.")
    return row


def _instrument_scope() -> int | None:
    """The instrument version a campaign-scoped key may read (None: any)."""
    scope = current_client().campaign_key
    if scope is None:
        return None
    row = campaigns.get_campaign(get_session(), scope)
    return row.instrument_id if row is not None else -1


def _date_parameter(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(422, f"{name}: {value[:40]!r} is not a date (YYYY-MM-DD)") from None
