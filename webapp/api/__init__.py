"""The JSON API for other systems (``/api/v1``): API keys, not sessions, so CSRF does not apply
(a browser's cookies carry no authority here). See docs/api.md."""

from __future__ import annotations

from flask import Flask, current_app, request

from webapp.api import problems
from webapp.api.openapi import PREFIX
from webapp.api.routes import bp
from webapp.auth.apikeys import client_bucket
from webapp.auth.throttle import limiter_of

CSRF_EXEMPT = True


def init_app(app: Flask) -> None:
    """Rate limits per API key (``GAPMETER_API_RATE_LIMIT``) and problem documents for
    unrouted paths under the prefix."""
    limiter = limiter_of(app)
    limiter.limit(_api_rate_limit, key_func=client_bucket)(bp)
    # The API's are the only limits: every other request skips the limiter's lookup of them,
    # which was a tenth of a survey page view's cost.
    limiter.request_filter(_outside_api)
    problems.init_app(app, PREFIX)


def _outside_api() -> bool:
    return request.blueprint != bp.name


def _api_rate_limit() -> str:
    return str(current_app.config["GAPMETER_API_RATE_LIMIT"])


__all__ = ["CSRF_EXEMPT", "bp", "init_app"]
