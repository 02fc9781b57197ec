"""The JSON API for other systems (``/api/v1``): API keys, not sessions, so CSRF does not apply
(a browser's cookies carry no authority here). See docs/api.md."""

from __future__ import annotations

import functools

from flask import Flask, current_app
from flask_limiter import Limiter

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
    limit_api_only(app, limiter)
    problems.init_app(app, PREFIX)


def limit_api_only(app: Flask, limiter: Limiter) -> None:
    """Run the limiter's check and its headers for API requests only: the API's are the only
    limits, and on every other request the limiter's hooks cost a tenth of a survey page
    view finding none. Flask-Limiter registers both on the app; they move to the blueprint
    (after the app's own hooks, so the access policy still runs first)."""
    before = app.before_request_funcs.get(None, [])
    after = app.after_request_funcs.get(None, [])
    check = [hook for hook in before if hook == limiter._check_request_limit]
    headers = [
        hook for hook in after if isinstance(hook, functools.partial) and hook.args == (limiter,)
    ]
    if len(check) != 1 or len(headers) != 1:
        raise RuntimeError("Flask-Limiter's request hooks were not found; see limit_api_only")
    before.remove(check[0])
    after.remove(headers[0])
    app.before_request_funcs.setdefault(bp.name, []).append(check[0])
    app.after_request_funcs.setdefault(bp.name, []).append(headers[0])


def _api_rate_limit() -> str:
    return str(current_app.config["GAPMETER_API_RATE_LIMIT"])


__all__ = ["CSRF_EXEMPT", "bp", "init_app"]
