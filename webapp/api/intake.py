"""From a POSTed body to checked submissions, or a problem naming every bad field.

In order: the body must be JSON (415/400; a body nested too deeply to parse is a 400, not a
crash) within the size limit (413, Flask's ``MAX_CONTENT_LENGTH``); it must match the request
schema of the OpenAPI document (422 — unknown fields refused); then every response's answers
are checked with ``parse_answers(..., require_complete=True, strict=True)``, the validator the
survey page uses, and its segment and time are checked (422, each problem with its field and
batch index). Nothing is stored unless everything passes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from sqlalchemy.orm import Session

from surveys.answers import parse_answers
from surveys.clock import utcnow
from surveys.errors import AnswerError
from surveys.instrument import Instrument
from surveys.response_table import format_timestamp, parse_timestamp
from surveys.services.responses import Submission
from surveys.taxonomy import term_keys, unknown_term_message
from webapp.api.openapi import IDEMPOTENCY_KEY_PATTERN, schema_for
from webapp.api.problems import FieldError, Problem

#: Problems listed at most in one reply.
MAX_ERRORS = 50
#: How far in the future ``submitted_at`` may be (clocks of other systems drift).
CLOCK_SKEW = timedelta(minutes=5)

_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_TYPE_WORDS = {
    "integer": "a whole number",
    "string": "text",
    "null": "null",
    "object": "an object",
    "array": "a list",
    "boolean": "true or false",
    "number": "a number",
}


@dataclass(frozen=True)
class Intake:
    """Checked submissions of one request, and the fingerprint of what was asked."""

    batch: bool
    submissions: tuple[Submission, ...]
    payload_hash: str


def idempotency_key() -> str:
    """The request's ``Idempotency-Key`` (an RFC 8941 string may come quoted); 400 without."""
    value = request.headers.get("Idempotency-Key", "").strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not value:
        raise Problem(
            400,
            "Send an Idempotency-Key header, unique per submission and the same on every retry "
            "(a UUID, or the call id of the hotline), so a retry never stores a response twice.",
        )
    if not _KEY.fullmatch(value):
        raise Problem(
            400,
            "The Idempotency-Key must be 1 to 128 characters: letters, digits and . _ : ~ + / = -",
        )
    return value


def read_json() -> Any:
    """The body as JSON: 415 for another media type, 400 for invalid or too deeply nested JSON
    (413 comes from the size limit while reading)."""
    if request.mimetype != "application/json":
        raise Problem(415, "Send the body as JSON with Content-Type: application/json.")
    data = request.get_data(cache=False)
    try:
        return json.loads(data, parse_constant=_no_constants)
    except RecursionError:
        raise Problem(400, "The JSON body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem(400, f"The body is not valid JSON ({_short(str(error), 120)}).") from None


def parse_intake(session: Session, instrument: Instrument, body: Any) -> Intake:
    """``body`` checked against the schema, the instrument and the taxonomy."""
    batch = isinstance(body, dict) and "responses" in body
    _check_schema(body, "BatchIn" if batch else "ResponseIn")
    items: list[Mapping[str, Any]] = body["responses"] if batch else [body]
    segments = term_keys(session, "segment")
    problems: list[FieldError] = []
    submissions: list[Submission] = []
    for index, item in enumerate(items):
        at = index if batch else None
        found = _item_problems(instrument, item, segments, at)
        problems += found.problems
        if found.submission is not None:
            submissions.append(found.submission)
    if problems:
        count = len(problems)
        raise Problem(
            422,
            f"{count} answer{'s' if count != 1 else ''} or field{'s' if count != 1 else ''} "
            "could not be accepted; nothing was stored. Each is listed in errors.",
            errors=problems[:MAX_ERRORS],
            kind="invalid-answers",
        )
    return Intake(batch, tuple(submissions), _fingerprint(batch, submissions))


@dataclass(frozen=True)
class _Checked:
    submission: Submission | None
    problems: list[FieldError]


def _item_problems(
    instrument: Instrument,
    item: Mapping[str, Any],
    segments: frozenset[str],
    index: int | None,
) -> _Checked:
    problems: list[FieldError] = []
    answers = None
    try:
        answers = parse_answers(instrument, item["answers"], require_complete=True, strict=True)
    except AnswerError as error:
        problems += [FieldError(p.slot, p.message, index) for p in error.problems]
    segment = item.get("segment")
    if segment is not None and segment not in segments:
        message = unknown_term_message("segment", segment, segments).partition("; add")[0]
        problems.append(FieldError("segment", message, index))
    submitted_at = None
    if "submitted_at" in item:
        submitted_at = parse_timestamp(item["submitted_at"])
        if submitted_at is None:
            problems.append(
                FieldError(
                    "submitted_at",
                    "is not an ISO 8601 date and time (for example 2026-04-05T10:00:00Z)",
                    index,
                )
            )
        elif submitted_at > utcnow() + CLOCK_SKEW:
            problems.append(FieldError("submitted_at", "is in the future", index))
    if problems or answers is None:
        return _Checked(None, problems)
    return _Checked(Submission(answers, segment, submitted_at), [])


def _fingerprint(batch: bool, submissions: Iterable[Submission]) -> str:
    canonical = {
        "batch": batch,
        "items": [
            {
                "answers": submission.answers.raw(),
                "segment": submission.segment,
                "submitted_at": format_timestamp(submission.submitted_at)
                if submission.submitted_at is not None
                else None,
            }
            for submission in submissions
        ],
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Schema ---------------------------------------------------------------------------------------
@functools.cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema_for(name))


def _check_schema(body: Any, name: str) -> None:
    try:
        errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
        problems = [problem for error in errors for problem in _describe(error)]
    except RecursionError:
        raise Problem(400, "The JSON body is nested too deeply.") from None
    if problems:
        raise Problem(
            422,
            "The body does not have the fields this endpoint takes; see errors and "
            "/api/v1/openapi.json. Nothing was stored.",
            errors=problems[:MAX_ERRORS],
        )


def _describe(error: ValidationError) -> list[FieldError]:
    """Field errors for one schema violation, in words, never quoting the (possibly huge)
    offending value."""
    path = list(error.absolute_path)
    index = (
        path[1] if len(path) > 1 and path[0] == "responses" and isinstance(path[1], int) else None
    )
    where = _path_text(path[2:] if index is not None else path)
    rule, value, instance = error.validator, error.validator_value, error.instance
    if rule == "required" and isinstance(instance, dict):
        missing = [name for name in value if name not in instance]
        return [FieldError(_join(where, name), "is required", index) for name in missing]
    if rule == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        allowed = ", ".join(sorted(known)) or "none"
        return [
            FieldError(
                _join(where, _short(str(name), 80) or '""'),  # an empty name, shown
                f"is not a field here (allowed: {allowed})",
                index,
            )
            for name in instance
            if name not in known
        ]
    messages = {
        "type": lambda: (
            "must be "
            + " or ".join(
                _TYPE_WORDS.get(kind, kind)
                for kind in ([value] if isinstance(value, str) else value)
            )
        ),
        "maxLength": lambda: f"must have at most {value} characters",
        "minLength": lambda: f"must have at least {value} character{'s' if value != 1 else ''}",
        "maxItems": lambda: f"must have at most {value} entries",
        "minItems": lambda: f"must have at least {value} entr{'ies' if value != 1 else 'y'}",
        "maxProperties": lambda: f"must have at most {value} entries",
        "propertyNames": lambda: "has a name longer than 200 characters",
    }
    describe = messages.get(str(rule))
    message = describe() if describe is not None else f"does not match the schema ({rule})"
    return [FieldError(where or "(body)", message, index)]


def _path_text(path: list[Any]) -> str:
    text = ""
    for part in path:
        text = f"{text}[{part}]" if isinstance(part, int) else _join(text, _short(str(part), 80))
    return text


def _join(where: str, name: str) -> str:
    if where == "answers":
        return name  # an answer is named by its slot alone, as in the answer errors
    return f"{where}.{name}" if where else name


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
