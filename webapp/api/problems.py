"""Errors as RFC 9457 problem documents (``application/problem+json``) with a ``detail`` that
says what to fix, and for answers an ``errors`` list naming each field (and batch index).

Every HTTP error raised while serving the API (401 from the key check, 403 scope, 404, 413 from
the body limit, 429 from the rate limiter, 500) is rendered here, as is a 404 or 405 for any
path under the API's prefix that matches no route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from webapp.database import rollback_session

PROBLEM_TYPE = "application/problem+json"
#: ``type`` URIs of our own problems (relative to the API; documented in docs/api.md).
TYPES = {
    "invalid-answers": "/api/v1/problems/invalid-answers",
    "idempotency-conflict": "/api/v1/problems/idempotency-conflict",
}
DETAILS: dict[int, str] = {
    404: "There is nothing at this address in the API; see /api/v1/openapi.json.",
    405: "This address does not accept that method; see /api/v1/openapi.json.",
    413: "The request body is larger than this server accepts.",
    429: "Too many requests with this API key; wait until Retry-After seconds have passed.",
    500: "The request could not be finished and nothing was stored. Retry it; "
    "with the same Idempotency-Key a retry can never store anything twice.",
}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field: ``field`` names it (an answer slot, ``segment``, a JSON path), ``index``
    the response of a batch it belongs to."""

    field: str
    message: str
    index: int | None = None

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.index is not None:
            found["index"] = self.index
        return found


class Problem(HTTPException):
    """An API error with a status, a ``detail``, optional field errors and a ``type``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = status
        self.detail = detail
        self.errors = tuple(errors)
        self.kind = kind
        self.extra_headers = headers or {}


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Sequence[FieldError] = (),
    kind: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPES.get(kind or "", "about:blank"),
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [error.to_json() for error in errors]
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    response.headers.update(headers or {})
    return response


def handle_problem(error: Problem) -> ResponseReturnValue:
    return problem_response(
        error.code or 400,
        error.detail,
        errors=error.errors,
        kind=error.kind,
        headers=error.extra_headers,
    )


def handle_http_exception(error: HTTPException) -> ResponseReturnValue:
    """Any other HTTP error as a problem; our own words where Werkzeug's would mislead a
    client (its 404 text speaks of a browser's URL, its 429 of nothing to do)."""
    status = error.code or 500
    detail = DETAILS.get(status) or error.description or HTTP_STATUS_CODES.get(status, "Error")
    headers = {
        name: value
        for name, value in error.get_headers()
        if name in {"WWW-Authenticate", "Retry-After", "Allow"}
    }
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(status, str(detail), headers=headers)


def handle_internal_error(error: InternalServerError) -> ResponseReturnValue:
    rollback_session()
    return problem_response(500, DETAILS[500])


def init_blueprint(bp: Blueprint) -> None:
    bp.register_error_handler(Problem, handle_problem)
    bp.register_error_handler(InternalServerError, handle_internal_error)
    bp.register_error_handler(HTTPException, handle_http_exception)


def init_app(app: Flask, prefix: str) -> None:
    """Problem documents for paths under ``prefix`` that match no route (404, 405).

    Handlers registered for a status code win over handlers for ``HTTPException`` in Flask's
    lookup, so for every other request this hands the error to the handler Flask would have
    chosen without it (a blueprint's own, else the app's pages).
    """

    def unrouted(error: HTTPException) -> ResponseReturnValue:
        if request.url_rule is None and (
            request.path == prefix or request.path.startswith(prefix + "/")
        ):
            return handle_http_exception(error)
        fallback = _handler_without(app, error, unrouted)
        return fallback(error) if fallback is not None else error

    app.register_error_handler(404, unrouted)
    app.register_error_handler(405, unrouted)


def _handler_without(app: Flask, error: HTTPException, skip: Any) -> Any:
    """Flask's choice of handler for ``error`` (code first, then class, blueprint before app),
    leaving out ``skip``."""
    for code in (error.code, None):
        for name in (*request.blueprints, None):
            handlers = app.error_handler_spec.get(name, {}).get(code, {})
            for cls in type(error).__mro__:
                handler = handlers.get(cls)
                if handler is not None and handler is not skip:
                    return handler
    return None
