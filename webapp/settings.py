"""Configuration from environment variables, with safe defaults for a zero-set-up start.

| Variable | Meaning | Default |
|---|---|---|
| `GAPMETER_DATABASE_URL` | SQLAlchemy URL (`postgresql+psycopg://…`) | `instance/gapmeter.db` |
| `GAPMETER_SECRET_KEY` | signs cookies, CSRF tokens; ≥ 32 random chars | `instance/secret_key` |
| `GAPMETER_ORGANISATION` | name in the page header | `Gapmeter` |
| `GAPMETER_BASE_URL` | external address used in invitation links | `http://127.0.0.1:5000` |
| `GAPMETER_MAX_CONTENT_LENGTH` | largest request body in bytes (else 413) | `1048576` (1 MiB) |
| `GAPMETER_TRUSTED_HOSTS` | comma-separated hosts served (else 400) | any (set in production) |
| `GAPMETER_SECURE_COOKIES` | `1` behind HTTPS: `__Host-` Secure cookie, HSTS | off |
| `GAPMETER_PROXY_HOPS` | proxies whose `X-Forwarded-*` headers are trusted | `0` |
| `GAPMETER_AUTO_MIGRATE` | `1`: migrate the schema when the app starts | on for SQLite only |
| `GAPMETER_STAFF_SESSION_HOURS` | a staff sign-in lasts at most this many hours | `12` |
| `GAPMETER_CAMPAIGN_CACHE_SECONDS` | survey pages keep a campaign this long (0: off) | `5` |

Flags accept `1/true/yes/on` and `0/false/no/off`. Without `GAPMETER_SECRET_KEY` a key is made
with `secrets` once and kept in `instance/secret_key` (mode 0600). Without auto-migration
(PostgreSQL), run `gapmeter db upgrade` once per release. The instance folder is Flask's
(`instance/` beside the package unless the app is given another).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
DATABASE_FILE = "gapmeter.db"
DEFAULT_MAX_CONTENT_LENGTH = 1024 * 1024
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """An environment variable holds a value the app cannot use."""


def settings_from_env(
    instance_path: Path, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Flask config keys from ``GAPMETER_*`` variables (see the table above)."""
    env = os.environ if environ is None else environ
    instance_path.mkdir(parents=True, exist_ok=True)
    database_url = env.get("GAPMETER_DATABASE_URL") or f"sqlite:///{instance_path / DATABASE_FILE}"
    secure = _flag(env, "GAPMETER_SECURE_COOKIES", default=False)
    hosts = [h.strip() for h in env.get("GAPMETER_TRUSTED_HOSTS", "").split(",") if h.strip()]
    is_sqlite = make_url(database_url).get_backend_name() == "sqlite"
    return {
        "GAPMETER_DATABASE_URL": database_url,
        "SECRET_KEY": env.get("GAPMETER_SECRET_KEY") or instance_secret_key(instance_path),
        "GAPMETER_ORGANISATION": env.get("GAPMETER_ORGANISATION") or "Gapmeter",
        "GAPMETER_BASE_URL": env.get("GAPMETER_BASE_URL") or "http://127.0.0.1:5000",
        "MAX_CONTENT_LENGTH": _positive_int(
            env, "GAPMETER_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH
        ),
        "TRUSTED_HOSTS": hosts or None,
        "GAPMETER_PROXY_HOPS": _positive_int(env, "GAPMETER_PROXY_HOPS", 0, allow_zero=True),
        "GAPMETER_STAFF_SESSION_HOURS": _positive_int(env, "GAPMETER_STAFF_SESSION_HOURS", 12),
        "GAPMETER_CAMPAIGN_CACHE_SECONDS": _positive_int(
            env, "GAPMETER_CAMPAIGN_CACHE_SECONDS", 5, allow_zero=True
        ),
        "GAPMETER_AUTO_MIGRATE": _flag(env, "GAPMETER_AUTO_MIGRATE", default=is_sqlite),
        "SESSION_COOKIE_SECURE": secure,
        # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only
        # and path=/, so a sibling subdomain cannot plant one (security.md §4).
        "SESSION_COOKIE_NAME": "__Host-session" if secure else "session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        # A respondent may spend hours on a long survey (or leave the tab open over lunch); a
        # token that expires after Flask-WTF's default hour would turn their submission into a
        # 400. The token is still tied to the session, which is what stops cross-site posts.
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF's HTTPS Referer check rejects every POST from a browser or privacy add-on
        # that strips Referer (a lost response, security.md R12); webapp.security checks
        # Origin / Sec-Fetch-Site instead, which such browsers still send.
        "WTF_CSRF_SSL_STRICT": False,
    }


def instance_secret_key(instance_path: Path) -> str:
    """The key kept in the instance folder, created (mode 0600) on first use.

    ``O_EXCL`` makes the first of several starting workers the only writer; the others read it.
    """
    path = instance_path / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise SettingsError(f"{path} holds a key shorter than 32 characters") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise SettingsError(f"{name} must be 1/true/yes/on or 0/false/no/off, not {value!r}")


def _positive_int(
    env: Mapping[str, str], name: str, default: int, *, allow_zero: bool = False
) -> int:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {value!r}") from None
    if number < 0 or (number == 0 and not allow_zero):
        raise SettingsError(f"{name} must be {'0 or more' if allow_zero else 'positive'}")
    return number
