"""Browser-facing defences (security.md §4): CSRF, response headers, proxy trust, log redaction.

* CSRF: Flask-WTF's synchronizer token on every POST/PUT/PATCH/DELETE outside exempt blueprints,
  plus a Fetch-Metadata / ``Origin`` check that replaces Flask-WTF's Referer check (see
  ``settings.WTF_CSRF_SSL_STRICT``).
* Headers on every response: a CSP without inline script or style, ``nosniff``, frame denial,
  ``Referrer-Policy: same-origin`` (survey links carry tokens), and HSTS when cookies are Secure.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"

#: Invitation tokens in request lines (``/i/<token>``) as the development server logs them.
_TOKEN_IN_PATH = re.compile(r"(/i/)[^\s?/\"]+")


class GapmeterCSRF(CSRFProtect):
    """Flask-WTF's token check, then a cross-site check on what browsers send with every POST.

    ``Sec-Fetch-Site: cross-site`` or an ``Origin`` naming another host is refused. Browsers that
    send neither (old ones) fall back to the token alone, as does a missing Referer.
    """

    def protect(self, apply_exemptions: bool = False) -> None:
        super().protect(apply_exemptions=apply_exemptions)
        if not g.get("csrf_valid"):
            return
        if request.headers.get("Sec-Fetch-Site", "").lower() in {"cross-site", "same-site"}:
            self._error_response("The request came from another site.")
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            self._error_response("The request came from another site.")


csrf = GapmeterCSRF()


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    if app.config.get("GAPMETER_PROXY_HOPS"):
        hops = int(app.config["GAPMETER_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    app.after_request(set_security_headers)
    # Access lines and Flask's "Exception on /i/<token> [GET]" would otherwise carry tokens.
    logging.getLogger("werkzeug").addFilter(redact_tokens)
    app.logger.addFilter(redact_tokens)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def no_store(response: Response) -> Response:
    """Keep a page out of every cache (pages with answers or tokens, ASVS 14.3.2)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def redact_tokens(record: logging.LogRecord) -> bool:
    """Replace invitation tokens in access-log lines with ``<token>`` (security.md T12, P6)."""
    if isinstance(record.args, tuple):
        record.args = tuple(_redact(arg) for arg in record.args)
    record.msg = _redact(record.msg)
    return True


def _redact(value: Any) -> Any:
    return _TOKEN_IN_PATH.sub(r"\1<token>", value) if isinstance(value, str) else value


__all__ = ["CSRFError", "csrf", "init_app", "no_store", "redact_tokens"]
