"""Browser-facing defences (security.md §4): CSRF, response headers, proxy trust, log redaction.

* CSRF: Flask-WTF's synchronizer token on every POST/PUT/PATCH/DELETE outside exempt blueprints,
  plus a Fetch-Metadata / ``Origin`` check that replaces Flask-WTF's Referer check (see
  ``settings.WTF_CSRF_SSL_STRICT``).
* Sessions: Flask's signed cookie (``SessionCookies`` only makes its serializer once).
* Headers on every response: a CSP without inline script or style, ``nosniff``, frame denial,
  ``Referrer-Policy: same-origin`` (survey links carry tokens), and HSTS when cookies are Secure.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
#: Headers on every response unless the view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)

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


class Uncompressed:
    """For an itsdangerous URL-safe serializer: write payloads without trying zlib first.
    The payloads here (a session, a form state) are a few dozen bytes that zlib cannot
    shorten, and each try set up a fresh compressor, a twentieth of a page view. Loading still
    accepts compressed payloads, so tokens issued before stay valid."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))  # type: ignore[arg-type]


class PlainTimedSerializer(Uncompressed, URLSafeTimedSerializer):
    """``URLSafeTimedSerializer`` without the zlib try (``Uncompressed``)."""


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions with the signing serializer made once per key set, not
    twice per request (making one serializes a test value to learn its type), and payloads
    left uncompressed (``Uncompressed``)."""

    @functools.lru_cache(maxsize=8)  # noqa: B019 - one interface per app, few key sets
    def _serializer(self, keys: tuple[str | bytes, ...]) -> URLSafeTimedSerializer:
        return PlainTimedSerializer(
            list(keys),  # type: ignore[arg-type]
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
        return self._serializer((*fallbacks, app.secret_key))


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookies()
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
    """The headers of ``SECURITY_HEADERS`` (and HSTS behind HTTPS) that a view did not set.
    One pass over the headers: werkzeug's ``setdefault`` scans them and raises a ``KeyError``
    for each one missing, which was a tenth of what a request cost the app."""
    present = {name.lower() for name, _ in response.headers}
    wanted = SECURITY_HEADERS
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        wanted = (*wanted, ("Strict-Transport-Security", HSTS))
    response.headers.extend([header for header in wanted if header[0].lower() not in present])
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
