"""Public survey pages: ``/s/<campaign_key>`` (open link) and ``/i/<token>`` (invitation).

A survey is paged by section. Every page posts the answers of every other page back as hidden
inputs, so it works without JavaScript and without server-side partial state; each page is
checked with ``parse_answers`` over its own slots and the last one over all of them. The
response is stored by ``submit_response`` in one transaction, and only then does the respondent
get the 303 to the thank-you page (security.md §1.5).

An invitation link ``/i/<token>`` is looked up (by hash), kept in the session and exchanged for
the token-free ``/i/``, so the token leaves the address bar and later request lines (T12).

When the database is locked or unreachable, a posted page is answered 503 with every answer
kept: the page re-rendered with them when the survey is known (loaded in this request, or
lately in this process), else a "try again" form that posts them back unchanged; nothing was
stored, so pressing again is safe (security.md §1.5).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from surveys.answers import parse_answers
from surveys.clock import as_utc
from surveys.errors import (
    AlreadyAnsweredError,
    AnswerError,
    CampaignClosedError,
    FieldProblem,
    IdempotencyConflictError,
    NotFoundError,
)
from surveys.instrument import Instrument
from surveys.models import Access, Source
from surveys.services import campaigns, instruments, invitations, responses
from surveys.services.campaigns import CampaignFacts
from webapp.database import get_engine, get_session, release_session
from webapp.errors import RETRY_AFTER_SECONDS, database_unavailable, release_after_outage
from webapp.forms.i18n import UI, language_name, ui
from webapp.forms.response_form import (
    ResponseForm,
    build_response_form,
    carried_answers,
    controls_form,
    survey_pages,
)
from webapp.respond.caches import Found, campaign_cache, first_views
from webapp.respond.state import FormState, choose_language, payload_hash, posted_answers
from webapp.security import no_store

bp = Blueprint("respond", __name__)
bp.after_request(no_store)

#: Session key holding the invitation token between ``/i/<token>`` and ``/i/``.
INVITATION_KEY = "invitation"


@dataclass(frozen=True)
class Survey:
    """What a respondent is answering: a campaign, its instrument, and their invitation token."""

    campaign: CampaignFacts
    instrument: Instrument
    token: str | None = None

    @property
    def action(self) -> str:
        if self.token is not None:
            return url_for("respond.invitation")
        return url_for("respond.open_link", campaign_key=self.campaign.key)


#: Heading and message (UI string keys) of each reason a survey cannot be answered.
OUTCOMES: dict[str, tuple[str, str]] = {
    "unknown": ("unknown_title", "unknown"),
    "unknown_invitation": ("unknown_title", "unknown_invitation"),
    "invitation_only": ("invitation_only_title", "invitation_only"),
    "not_open": ("not_open_title", "not_open"),
    "closed": ("closed_title", "closed"),
    "used": ("used_title", "used"),
    "replayed_conflict": ("used_title", "replayed_conflict"),
}


class Unavailable(Exception):  # noqa: N818 - a page outcome, not a programming error
    """The survey cannot be answered here and now; rendered as its own page and status."""

    def __init__(
        self, status: int, reason: str, instrument: Instrument | None = None, **values: str
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.instrument, self.values = status, reason, instrument, values


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"ui": ui, "language_name": language_name}


# Views ---------------------------------------------------------------------------------------
@bp.route("/s/<campaign_key>", methods=["GET", "POST"])
def open_link(campaign_key: str) -> ResponseReturnValue:
    """The survey of an open-link campaign."""
    return survey_page(open_survey(campaign_key))


@bp.get("/i/<token>")
def invitation_link(token: str) -> ResponseReturnValue:
    """Check the invitation, keep its token in the session, continue at the token-free URL."""
    invited_survey(token)
    cookie_session[INVITATION_KEY] = token
    return redirect(url_for("respond.invitation", lang=request.args.get("lang")), 303)


@bp.route("/i/", methods=["GET", "POST"])
def invitation() -> ResponseReturnValue:
    """The survey of the invitation kept in the session (posted back as ``gm_token``)."""
    if request.method == "POST":
        token = request.form.get("gm_token")
    else:
        token = cookie_session.get(INVITATION_KEY)
    return survey_page(invited_survey(token))


@bp.get("/s/<campaign_key>/thanks")
def thanks(campaign_key: str) -> ResponseReturnValue:
    found = find_campaign(campaign_key)
    if found is None:
        raise Unavailable(404, "unknown")
    instrument = found[1]
    lang = choose_language(instrument, request.args.get("lang"))
    text = instrument.thanks.get(lang) if instrument.thanks else ui("thanks_default", lang)
    return render_template(
        "respond/thanks.html", lang=lang, title=instrument.title.get(lang), text=text
    )


# Loading -------------------------------------------------------------------------------------
def find_campaign(campaign_key: str, *, renew: bool = False) -> Found | None:
    """The campaign ``campaign_key`` and its instrument, kept a few seconds (``caches``);
    ``renew`` reads them anew."""

    def load() -> Found | None:
        session = get_session()
        facts = campaigns.campaign_facts(session, campaign_key)
        if facts is None:
            return None
        return facts, instruments.instrument_by_hash(
            session, facts.instrument_id, facts.content_hash
        )

    return campaign_cache().get(campaign_key, load, renew=renew)


def open_survey(campaign_key: str, *, renew: bool = False) -> Survey:
    found = find_campaign(campaign_key, renew=renew)
    if found is None:
        raise Unavailable(404, "unknown")
    campaign, instrument = found
    if campaign.access == Access.INVITATION:
        raise Unavailable(403, "invitation_only", instrument)
    _check_open(campaign, instrument)
    return Survey(campaign, instrument)


def invited_survey(token: str | None) -> Survey:
    invitation = invitations.find_invitation(get_session(), token) if token else None
    if invitation is None:
        raise Unavailable(404, "unknown_invitation")
    campaign = CampaignFacts.of(invitation.campaign)
    instrument = instruments.instrument_of(invitation.campaign.instrument)
    if invitation.used_at is not None:
        raise Unavailable(409, "used", instrument)
    _check_open(campaign, instrument)
    return Survey(campaign, instrument, token)


def _check_open(campaign: CampaignFacts, instrument: Instrument) -> None:
    _raise_for_state(campaign.state(), campaign, instrument)


def _raise_for_state(state: str, campaign: CampaignFacts, instrument: Instrument) -> None:
    if state == "not_open_yet":
        opens = as_utc(campaign.opens_at).strftime("%Y-%m-%d %H:%M UTC")
        raise Unavailable(403, "not_open", instrument, date=opens)
    if state == "closed":
        raise Unavailable(410, "closed", instrument)


#: Surveys shown lately in this process, by campaign key or invitation token hash (kept without
#: the token). Only used to draw a posted page again while the database cannot be reached;
#: nothing is decided from them, since storing a response always needs the database.
_recent: OrderedDict[str, Survey] = OrderedDict()
_recent_lock = threading.Lock()
RECENT_SURVEYS = 256


def _recent_key(campaign_key: str | None = None, token: str | None = None) -> str | None:
    if token is not None:
        hashed = invitations.lookup_hash(token)
        return f"i:{hashed}" if hashed is not None else None
    return f"s:{campaign_key}" if campaign_key else None


def remember_survey(survey: Survey) -> None:
    key = _recent_key(survey.campaign.key, survey.token)
    kept = survey if survey.token is None else dataclasses.replace(survey, token=None)
    with _recent_lock:
        _recent[str(key)] = kept
        _recent.move_to_end(str(key))
        while len(_recent) > RECENT_SURVEYS:
            _recent.popitem(last=False)


def recent_survey() -> Survey | None:
    """The survey this request posts to, if this process showed it lately."""
    if request.endpoint == "respond.invitation":
        token = request.form.get("gm_token")
        key = _recent_key(token=token) if token else None
    else:
        token, key = None, _recent_key((request.view_args or {}).get("campaign_key"))
    with _recent_lock:
        survey = _recent.get(key) if key else None
    return dataclasses.replace(survey, token=token) if survey is not None else None


# The page flow -------------------------------------------------------------------------------
def survey_page(survey: Survey) -> ResponseReturnValue:
    """GET: the first page. POST: back, switch language, next (checking this page) or submit."""
    instrument = survey.instrument
    g.respond_survey = survey  # for the outage handler: the page can be drawn again
    remember_survey(survey)
    if request.method == "GET":
        lang = choose_language(instrument, request.args.get("lang"))
        return render_page(survey, lang, 0, {}, FormState.new(), posted=False)

    pages = survey_pages(instrument)
    raw = posted_answers(instrument, request.form)
    lang = choose_language(instrument, request.form.get("gm_lang") or request.args.get("lang"))
    state = FormState.loads(request.form.get("gm_state")) or FormState.new()
    page = _page_number(request.form.get("gm_page"), len(pages))
    nav = request.form.get("gm_nav", "next")

    if nav == "back":
        return render_page(survey, lang, max(page - 1, 0), raw, state)
    if nav.startswith("lang:"):
        lang = choose_language(instrument, nav.removeprefix("lang:"))
        return render_page(survey, lang, page, raw, state)
    if page < len(pages) - 1:
        if survey.token is None:  # an invitation's campaign was read with it just now
            open_survey(survey.campaign.key, renew=True)
        try:
            parse_answers(instrument, raw, slots=pages[page].slots)
        except AnswerError as error:
            return render_page(survey, lang, page, raw, state, problems=error.problems, status=422)
        return render_page(survey, lang, page + 1, raw, state)
    # The last page: one check of every answer. This page's problems come first, as on any
    # other page; answers left wrong on an earlier page (edited hidden inputs) send there.
    try:
        answers = parse_answers(instrument, raw)
    except AnswerError as error:
        here = {slot.name for slot in pages[page].slots}
        problems = [problem for problem in error.problems if problem.slot in here]
        first = page if problems else _first_page_with(pages, error.problems)
        notice = ui("errors_elsewhere", lang) if first != page else None
        return render_page(
            survey,
            lang,
            first,
            raw,
            state,
            problems=problems or error.problems,
            notice=notice,
            status=422,
        )

    release_session()  # the write below takes its own connection; don't hold two
    try:
        responses.submit_response(
            get_engine(),
            campaign_key=survey.campaign.key,
            answers=answers,
            source=Source.WEB,
            token=survey.token,
            idempotency_key=state.idempotency_key,
            payload_hash=payload_hash(answers),
            duration_seconds=state.duration_seconds(),
            language=lang,
        )
    except CampaignClosedError as error:
        _raise_for_state(error.reason, survey.campaign, instrument)
        raise Unavailable(410, "closed", instrument) from None
    except AlreadyAnsweredError:
        raise Unavailable(409, "used", instrument) from None
    except IdempotencyConflictError:
        raise Unavailable(409, "replayed_conflict", instrument) from None
    except NotFoundError:
        raise Unavailable(404, "unknown_invitation" if survey.token else "unknown") from None
    if survey.token is not None:
        cookie_session.pop(INVITATION_KEY, None)
    return redirect(url_for("respond.thanks", campaign_key=survey.campaign.key, lang=lang), 303)


def _page_number(value: str | None, count: int) -> int:
    try:
        number = int(value or 0)
    except ValueError:
        return 0
    return min(max(number, 0), count - 1)


def _first_page_with(pages: Sequence[Any], problems: Iterable[FieldProblem]) -> int:
    slots = {problem.slot for problem in problems}
    return next(
        (page.index for page in pages if slots & {slot.name for slot in page.slots}),
        len(pages) - 1,
    )


@dataclass(frozen=True, slots=True)
class SummaryEntry:
    """One line of the error summary: a link to the field and what to fix."""

    anchor: str
    label: str
    message: str


def render_page(
    survey: Survey,
    lang: str,
    page: int,
    raw: Mapping[str, str],
    state: FormState,
    *,
    posted: bool = True,
    problems: Sequence[FieldProblem] = (),
    notice: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """Page ``page`` with ``raw`` answers filled in and ``problems`` beside their fields."""
    instrument = survey.instrument
    form_class = build_response_form(instrument, lang, page)
    # Nothing filled in on this page and nothing wrong: its questions come drawn already.
    blank = not problems and not any(raw.get(name) for name in form_class.slot_names)
    if blank and not posted and notice is None:
        return first_view(survey, lang, form_class, state), status
    html = draw_page(
        survey,
        lang,
        form_class,
        raw,
        state,
        blank=blank,
        posted=posted,
        problems=problems,
        notice=notice,
    )
    return html, status


def draw_page(
    survey: Survey,
    lang: str,
    form_class: type[ResponseForm],
    raw: Mapping[str, str],
    state: FormState,
    *,
    blank: bool,
    posted: bool,
    problems: Sequence[FieldProblem] = (),
    notice: str | None = None,
) -> str:
    """The page of ``form_class`` drawn with the template (``render_page`` says which)."""
    instrument = survey.instrument
    form = (controls_form(form_class) if blank else form_class)(
        formdata=MultiDict(raw) if posted else None
    )
    form.gm_page.data = str(form.page.index)
    form.gm_state.data = state.dumps()
    form.gm_lang.data = lang
    block_errors = [] if blank else _place_problems(instrument, form, raw, problems)
    context = {
        "form": form,
        "page": form.page,
        "lang": lang,
        "title": instrument.title.get(lang),
        "description": instrument.description.get(lang) if instrument.description else None,
        "action": survey.action,
        "token": survey.token,
        "carried": carried_answers(raw, form.slot_names),
        "summary": [] if blank else _summary(form, block_errors),
        "block_errors": block_errors,
        "notice": notice,
        "posted": posted,
        "last": form.page.index == form.page.count - 1,
        "languages": instrument.languages,
        "allocation_spent": _allocation_spent(form, raw),
        "questions_html": blank_questions(form_class, lang) if blank else None,
    }
    return render_template("respond/page.html", **context)


def first_view(
    survey: Survey, lang: str, form_class: type[ResponseForm], state: FormState
) -> bytes:
    """A page as first shown (nothing posted): the kept UTF-8 text between its three
    per-request values (``caches``), joined with this request's CSRF token, form state and
    invitation token. The first request of a page draws it in full and splits it at those
    values; a page where one of them does not occur exactly once is drawn in full every time."""
    csrf_token = generate_csrf()
    values = [csrf_token, state.dumps()] + ([survey.token] if survey.token is not None else [])
    escaped = [str(escape(value)) for value in values]
    # The page's address follows from these (``Survey.action``), without building it.
    key = (form_class, lang, survey.campaign.key, survey.token is None, request.script_root)
    drawn: list[str] = []

    def draw() -> tuple[bytes, ...] | None:
        html = draw_page(survey, lang, form_class, {}, state, blank=True, posted=False)
        drawn.append(html)
        parts = split_at(html, escaped)
        return tuple(part.encode() for part in parts) if parts is not None else None

    parts = first_views().get(key, draw)
    if parts is None:
        return drawn[0].encode()
    fills = [value.encode() for value in escaped] + [b""]
    return b"".join(part + fill for part, fill in zip(parts, fills, strict=True))


def split_at(text: str, values: Sequence[str]) -> tuple[str, ...] | None:
    """``text`` cut at each of ``values`` in turn, each occurring exactly once, in order."""
    parts: list[str] = []
    rest = text
    for value in values:
        if not value or text.count(value) != 1 or value not in rest:
            return None
        before, rest = rest.split(value, 1)
        parts.append(before)
    return (*parts, rest)


@functools.lru_cache(maxsize=512)
def blank_questions(form_class: type[ResponseForm], lang: str) -> Markup:
    """The questions of a page with nothing filled in and no problems, drawn once per page and
    language (the form class is both): the same HTML for everyone who first reaches the page,
    and drawing its radios is most of what a page view costs. Autoescaped like the live path."""
    form = form_class(formdata=None, meta={"csrf": False})
    spent = 0 if form.page.allocation_total is not None else None
    html = render_template(
        "respond/_questions.html",
        form=form,
        page=form.page,
        lang=lang,
        block_errors=[],
        allocation_spent=spent,
    )
    return Markup(html)  # noqa: S704 - rendered by Jinja with autoescape, not built from input


def _place_problems(
    instrument: Instrument,
    form: ResponseForm,
    raw: Mapping[str, str],
    problems: Sequence[FieldProblem],
) -> list[str]:
    """Put problems beside their fields, except a wrong points total: ``parse_answers`` files it
    under the first area, but it concerns the allocation as a whole, so it goes to the block.
    It is recognisable as the only allocation problem while every area has a value."""
    areas = [slot.name for slot in instrument.slots() if slot.item is None]
    about_areas = [problem for problem in problems if problem.slot in areas]
    total = (
        about_areas[0]
        if len(about_areas) == 1
        and about_areas[0].slot == areas[0]
        and areas[0] in form.slot_names
        and all(raw.get(name, "").strip() for name in areas)
        else None
    )
    form.add_problems([problem for problem in problems if problem is not total])
    return [total.message] if total else []


def _summary(form: ResponseForm, block_errors: Sequence[str]) -> list[SummaryEntry]:
    entries = []
    for question in form.page.questions:
        if block_errors and question.fields and question.fields[0].kind == "number":
            anchor = form.field(question.fields[0].name).id
            entries += [SummaryEntry(anchor, question.text, message) for message in block_errors]
        for view in question.fields:
            field = form.field(view.name)
            anchor = field.id if view.kind in {"text", "number"} else f"{field.id}-0"
            label = question.text
            if question.paired:
                label = f"{question.text} — {view.caption}"
            elif view.kind == "number":
                label = view.caption
            entries += [SummaryEntry(anchor, label, str(message)) for message in field.errors]
    return entries


def _allocation_spent(form: ResponseForm, raw: Mapping[str, str]) -> int | None:
    if form.page.allocation_total is None:
        return None
    values = (raw.get(name, "").strip() for name in form.slot_names)
    return sum(int(value) for value in values if value.isdecimal() and len(value) < 7)


# Outcomes ------------------------------------------------------------------------------------
@bp.errorhandler(Unavailable)
def unavailable(error: Unavailable) -> ResponseReturnValue:
    instrument = error.instrument
    if instrument is not None:
        lang = choose_language(
            instrument, request.values.get("lang") or request.form.get("gm_lang")
        )
        title = instrument.title.get(lang)
    else:
        lang = request.accept_languages.best_match(list(UI)) or "en"
        title = None
    heading, message = OUTCOMES[error.reason]
    page = render_template(
        "respond/unavailable.html",
        lang=lang,
        title=title,
        heading=ui(heading, lang),
        message=ui(message, lang, **error.values),
    )
    return page, error.status


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> ResponseReturnValue:
    """Keep the answers: re-render the posted page with a fresh token and ask to press again
    (security.md R12). Nothing is stored; the next press goes through the normal flow."""
    try:
        if request.endpoint == "respond.invitation":
            survey = invited_survey(request.form.get("gm_token"))
        else:
            survey = open_survey(str((request.view_args or {}).get("campaign_key", "")))
    except Unavailable as outcome:
        return unavailable(outcome)
    return render_posted(survey, "csrf_resubmit", 400)


@bp.errorhandler(SQLAlchemyError)
def database_error(error: SQLAlchemyError) -> ResponseReturnValue:
    """The database is locked or unreachable: 503 and ``Retry-After``, never a stack trace.
    A posted page keeps every answer (see the module docstring); other errors are bugs and go
    on to Flask's 500."""
    if not database_unavailable(error):
        raise error
    release_after_outage(error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    survey: Survey | None = g.get("respond_survey")
    if request.method == "POST" and survey is None:
        survey = recent_survey()
    if request.method == "POST" and survey is not None:
        response = make_response(render_posted(survey, "busy_saving", 503))
        response.headers.update(headers)
        return response
    lang = request.values.get("gm_lang") or request.values.get("lang")
    lang = lang or request.accept_languages.best_match(list(UI)) or "en"
    if request.method == "POST":
        fields = [item for item in request.form.items(multi=True) if item[0] != "gm_nav"]
        page = render_template(
            "respond/retry.html",
            lang=lang,
            action=request.path,
            fields=fields,
            nav=request.form.get("gm_nav", "next"),
        )
        return page, 503, headers
    page = render_template(
        "respond/unavailable.html",
        lang=lang,
        title=None,
        heading=ui("busy_title", lang),
        message=ui("busy_page", lang),
    )
    return page, 503, headers


def render_posted(survey: Survey, notice: str, status: int) -> ResponseReturnValue:
    """The posted page again with every posted answer and a notice; nothing was stored."""
    instrument = survey.instrument
    lang = choose_language(instrument, request.form.get("gm_lang") or request.args.get("lang"))
    page = _page_number(request.form.get("gm_page"), len(survey_pages(instrument)))
    state = FormState.loads(request.form.get("gm_state")) or FormState.new()
    raw = posted_answers(instrument, request.form)
    return render_page(survey, lang, page, raw, state, notice=ui(notice, lang), status=status)
