"""Rate limits: one Flask-Limiter per app (API limits per key) and the login failure counter.

Storage is Redis when ``GAPMETER_REDIS_URL`` is set, so every worker shares the counts
(security.md §1.4); otherwise process memory, fine for one process. If Redis stops answering,
both fall back to memory rather than refusing every request or login.

The login counter is per account (the address typed, hashed so the store holds no addresses),
not per IP: ``LOGIN_FAILURES`` failed attempts within their window lock the account for
``LOGIN_LOCK`` from the last one, for everyone (OWASP; security.md S11). It counts failures only,
in its own namespace, so nothing else (a survey token, a success) can reset it. It is checked
before the password is hashed: a locked account costs no hash.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

LIMITER = "gapmeter.limiter"
LOGIN_THROTTLE = "gapmeter.login_throttle"
#: Config keys and their defaults (``GAPMETER_REDIS_URL`` also read from the environment).
DEFAULTS = {
    "GAPMETER_REDIS_URL": None,
    "GAPMETER_RATE_LIMIT_PREFIX": "gapmeter",
    "GAPMETER_API_RATE_LIMIT": "120 per minute",
    "GAPMETER_LOGIN_FAILURES": "10 per 15 minutes",
    "GAPMETER_LOGIN_LOCK": "1 per 15 minutes",
}


def configure(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, os.environ.get(key) or value)


def storage_uri(app: Flask) -> str:
    return str(app.config.get("GAPMETER_REDIS_URL") or "memory://")


def limiter_of(app: Flask) -> Limiter:
    """The app's Flask-Limiter, made on first use (the API adds its limits to it)."""
    if LIMITER not in app.extensions:
        configure(app)
        limiter = Limiter(
            get_remote_address,
            storage_uri=storage_uri(app),
            key_prefix=str(app.config["GAPMETER_RATE_LIMIT_PREFIX"]),
            strategy="moving-window",
            headers_enabled=True,
            in_memory_fallback_enabled=True,
            retry_after="delta-seconds",
        )
        limiter.init_app(app)
        app.extensions[LIMITER] = limiter
    limiter: Limiter = app.extensions[LIMITER]
    return limiter


@dataclass
class LoginThrottle:
    """Failed-login counts per account in the shared store, with a memory fallback."""

    storage: Storage
    prefix: str
    failures: RateLimitItem
    lock: RateLimitItem

    def __post_init__(self) -> None:
        self._fallback: Storage = MemoryStorage()

    @classmethod
    def for_app(cls, app: Flask) -> LoginThrottle:
        configure(app)
        return cls(
            storage_from_string(storage_uri(app)),
            str(app.config["GAPMETER_RATE_LIMIT_PREFIX"]),
            parse(str(app.config["GAPMETER_LOGIN_FAILURES"])),
            parse(str(app.config["GAPMETER_LOGIN_LOCK"])),
        )

    def locked(self, email: str) -> bool:
        """True while the account may not try again (nothing is counted by asking)."""
        ids = self._ids(email)
        return not (
            self._run(lambda s: MovingWindowRateLimiter(s).test(self.failures, *ids))
            and self._run(lambda s: FixedWindowRateLimiter(s).test(self.lock, *ids))
        )

    def failed(self, email: str) -> None:
        """Count a failure; the one that reaches the limit starts the lock."""
        ids = self._ids(email)
        self._run(lambda s: MovingWindowRateLimiter(s).hit(self.failures, *ids))
        if not self._run(lambda s: MovingWindowRateLimiter(s).test(self.failures, *ids)):
            self._run(lambda s: FixedWindowRateLimiter(s).hit(self.lock, *ids))

    def succeeded(self, email: str) -> None:
        """A right password outside a lock: earlier failures are forgiven."""
        ids = self._ids(email)
        self._run(lambda s: MovingWindowRateLimiter(s).clear(self.failures, *ids))

    def _ids(self, email: str) -> tuple[str, ...]:
        digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:32]
        return (self.prefix, "login-failures", digest)

    def _run(self, operation: Callable[[Storage], bool]) -> bool:
        try:
            return bool(operation(self.storage))
        except Exception:  # the shared store is down: count in this process meanwhile
            current_app.logger.warning("login throttle: rate-limit storage unavailable")
            return bool(operation(self._fallback))


def login_throttle() -> LoginThrottle:
    app = current_app
    throttle = app.extensions.get(LOGIN_THROTTLE)
    if throttle is None:
        throttle = app.extensions[LOGIN_THROTTLE] = LoginThrottle.for_app(app)
    return throttle
