"""Error pages for people and JSON for clients that ask for it (``Accept: application/json``).

Every HTTP error gets a calm page that says what happened and what to do; the 500 handler rolls
back the request's database session first. A database that cannot be reached or is locked
right now is a 503 "try again" with ``Retry-After`` (through the blueprint's own 503 handler, so
the API answers with a problem document), never a 500. Blueprints may register their own
handlers (the survey pages re-render the form on a CSRF failure or an unavailable database
instead of showing this page).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    SecurityError,
    ServiceUnavailable,
)

from webapp.database import rollback_session

#: Title and advice per status; anything else falls back to the exception's own description.
MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be understood. Go back, reload and try again."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Not found", "There is nothing at this address. Check the link and try again."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    409: ("Already done", "This has already been done and cannot be done twice."),
    410: ("No longer available", "This page has closed."),
    413: (
        "Too large",
        "What you sent is larger than this site accepts. Shorten long answers and try again.",
    ),
    500: (
        "Something went wrong",
        "We could not finish this request. Nothing was saved. Please try again in a moment.",
    ),
    503: (
        "Please try again in a moment",
        "The service is busy or briefly unavailable, so nothing was changed. "
        "Please try again in a moment.",
    ),
}
#: Seconds a client is asked to wait before retrying after a 503.
RETRY_AFTER_SECONDS = 5
#: What SQLite says when the file is locked or cannot be opened right now (not a bug).
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open")
CSRF_MESSAGE = (
    "The form had expired or came from another site, so nothing was changed. "
    "Go back, reload the page and try again."
)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(SQLAlchemyError, handle_database_error)


def wants_json() -> bool:
    """True when the client prefers JSON to HTML (API clients, ``fetch`` with Accept)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(code: int, message: str | None = None) -> tuple[Any, int]:
    """The error page (or JSON document) for ``code``, with an optional specific message."""
    title, advice = MESSAGES.get(code, ("Error", "The request could not be completed."))
    if wants_json():
        return {"error": title, "status": code, "message": message or advice}, code
    page = render_template("errors/error.html", code=code, title=title, message=message or advice)
    return page, code


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    if isinstance(error, SecurityError):
        # An untrusted Host: nothing that builds URLs (the page template) can run.
        return "Bad request: this host is not served here.\n", 400, {"Content-Type": "text/plain"}
    code = error.code or 500
    body, status = error_response(code, None if code in MESSAGES else error.description)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        return body, status, {"Allow": ", ".join(error.valid_methods)}
    if getattr(error, "retry_after", None) is not None:
        return body, status, {"Retry-After": str(error.retry_after)}  # type: ignore[attr-defined]
    return body, status


def handle_csrf_error(error: CSRFError) -> ResponseReturnValue:
    return error_response(400, CSRF_MESSAGE)


def handle_internal_error(error: InternalServerError) -> ResponseReturnValue:
    rollback_session()
    return error_response(500)


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database cannot be used right now (connection refused or
    lost, pool exhausted, SQLite file locked), as opposed to a bug such as a bad query."""
    if isinstance(error, DisconnectionError | PoolTimeoutError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.OperationalError):
        return str(error.orig).startswith(_SQLITE_UNAVAILABLE)
    # PostgreSQL drivers raise OperationalError for connection-level failures only (server
    # gone, refused, shut down); a bad query is a ProgrammingError or another DBAPIError.
    return True


def release_after_outage(error: BaseException) -> None:
    """Log the outage in one line (no stack: it is not a bug) and drop the request's session."""
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, str(error)[:200]
    )
    try:
        rollback_session()
    except SQLAlchemyError:
        current_app.logger.warning("rollback after the outage failed too")


def handle_database_error(error: SQLAlchemyError) -> ResponseReturnValue:
    """An unavailable database is a 503 through the usual handler of the request's blueprint;
    any other database error is re-raised, so Flask logs it and answers 500 as for any bug."""
    if not database_unavailable(error):
        raise error
    release_after_outage(error)
    return current_app.handle_http_exception(ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS))
