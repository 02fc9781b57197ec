"""Staff accounts and API keys: creating them, checking credentials, ending sessions, revoking.

Passwords are hashed with Argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1) and
re-hashed at the next successful login whenever the parameters change (security.md §1.4, S20).
Checking a password is deliberately expensive, so:

* callers throttle *before* calling ``authenticate`` (the web login counts failures per
  account); this module only checks;
* at most ``HASHING_SLOTS`` checks run at once per process, so a flood of logins to many
  accounts cannot exhaust memory (each check takes 19 MiB) — the rest wait, then are refused;
* an unknown address costs the same hash as a wrong password, and both give the same answer
  (OWASP Authentication Cheat Sheet), so the time and reply do not tell whether an account
  exists.

The hash runs outside any database transaction: a read, the check, then one short write (last
login, re-hash, audit entry), so a slow login never holds SQLite's write lock.

API keys are 256-bit random strings shown once; only their SHA-256 is stored.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from surveys.clock import as_utc, utcnow
from surveys.db import read_session, write_session
from surveys.errors import NotFoundError, SurveysError
from surveys.models import ApiKey, Role, User
from surveys.models.accounts import API_KEY_NAME_LENGTH, EMAIL_LENGTH
from surveys.services import audit
from surveys.services.campaigns import campaign_or_error

#: OWASP Password Storage Cheat Sheet, first Argon2id row.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
PASSWORD_MIN_LENGTH = 12
#: A bound on what a client can make us hash (Argon2 takes any length; a 1 MB "password" is an
#: attack, not a secret).
PASSWORD_MAX_LENGTH = 256
#: Password checks that may run at once in one process, and how long a check waits for a turn.
HASHING_SLOTS = 4
HASHING_WAIT_SECONDS = 10.0
#: Characters of a generated one-time password's randomness (``token_urlsafe`` bytes).
ONE_TIME_PASSWORD_BYTES = 12

API_KEY_PREFIX = "gmk_"
API_KEY_BYTES = 32
API_KEY_MAX_LENGTH = 100
#: ``last_used_at`` is written at most this often per key (one write per request would contend
#: with the intake on SQLite's single writer).
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)

_hashing = threading.BoundedSemaphore(HASHING_SLOTS)


class AccountError(SurveysError):
    """An account or API key request that cannot be done as asked (the message says why)."""


class WrongPasswordError(AccountError):
    """The current password given to change it is not right."""


class HashingBusyError(SurveysError):
    """Too many password checks at once in this process; the client should retry shortly."""


@dataclass(frozen=True, slots=True)
class Account:
    """What the web layer knows of a signed-in user (a snapshot, not a live ORM row)."""

    id: int
    email: str
    role: Role
    session_epoch: int
    must_change_password: bool
    active: bool

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(
            user.id,
            user.email,
            Role(user.role),
            user.session_epoch,
            user.must_change_password,
            user.active,
        )


@dataclass(frozen=True, slots=True)
class Credentials:
    """A new or reset account and its password, to be shown once."""

    email: str
    role: Role
    password: str
    one_time: bool


@dataclass(frozen=True, slots=True)
class ApiClient:
    """The integration behind an API request: its key's id and name, and its campaign scope."""

    id: int
    name: str
    campaign_key: str | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new API key: ``key`` is the secret, shown once and never stored."""

    id: int
    name: str
    key: str
    prefix: str
    campaign_key: str | None


# Checks ---------------------------------------------------------------------------------------
def normalise_email(email: str) -> str:
    """The address as stored: trimmed and lower-cased; raises ``AccountError`` if it is none."""
    cleaned = str(email).strip().lower()
    local, at, domain = cleaned.partition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or "@" in domain
        or len(cleaned) > EMAIL_LENGTH
        or not cleaned.isprintable()
        or any(character.isspace() for character in cleaned)
    ):
        raise AccountError(f"{str(email)[:60]!r} is not an e-mail address")
    return cleaned


def check_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(member.value for member in Role)
        raise AccountError(f"unknown role {str(role)[:30]!r}; choose one of {choices}") from None


def check_password(password: str, email: str | None = None) -> str:
    """``password`` if it may be used: 12 to 256 characters and not the account's address."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(f"the password must have at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(f"the password must have at most {PASSWORD_MAX_LENGTH} characters")
    if email is not None and password.strip().lower() == email.strip().lower():
        raise AccountError("the password must not be the e-mail address")
    return password


def hash_password(password: str) -> str:
    with _hashing_slot():
        return PASSWORD_HASHER.hash(password)


def one_time_password() -> str:
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


# Accounts -------------------------------------------------------------------------------------
def get_user(session: Session, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except AccountError:
        return None
    return session.scalar(select(User).where(User.email == address))


def user_or_error(session: Session, email: str) -> User:
    user = get_user(session, email)
    if user is None:
        raise NotFoundError(f"no account {str(email)[:60]!r}")
    return user


def get_account(session: Session, user_id: int) -> Account | None:
    user = session.get(User, user_id)
    return Account.of(user) if user is not None else None


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.email)).all()


def add_user(
    session: Session,
    email: str,
    role: Role | str,
    password: str | None = None,
    *,
    actor: str = audit.CLI,
) -> Credentials:
    """A new account. Without ``password`` a one-time password is made, which must be changed
    at the first login."""
    address = normalise_email(email)
    checked_role = check_role(role)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise AccountError(f"an account for {address!r} exists already")
    one_time = password is None
    secret = one_time_password() if password is None else check_password(password, address)
    user = User(
        email=address,
        role=checked_role,
        password_hash=hash_password(secret),
        must_change_password=one_time,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.added", audit.user_ref(user.id), {"role": checked_role})
    return Credentials(address, checked_role, secret, one_time)


def reset_password(
    session: Session,
    email: str,
    password: str | None = None,
    *,
    actor: str = audit.CLI,
) -> Credentials:
    """Set a new password (a one-time one without ``password``) and end every session."""
    user = user_or_error(session, email)
    one_time = password is None
    secret = one_time_password() if password is None else check_password(password, user.email)
    _store_password(user, hash_password(secret), must_change=one_time)
    audit.record(session, actor, "user.password_reset", audit.user_ref(user.id))
    return Credentials(user.email, Role(user.role), secret, one_time)


def change_password(engine: Engine, user_id: int, current: str, new: str) -> Account:
    """The user's own change: ``current`` must be right; ends every other session (the caller
    signs the current one in again with the returned epoch)."""
    with read_session(engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise AccountError("this account cannot sign in")
        stored, email = user.password_hash, user.email
    if not _verify(stored, current[: PASSWORD_MAX_LENGTH + 1]):
        raise WrongPasswordError("the current password is not right")
    check_password(new, email)
    if _verify(stored, new):
        raise AccountError("choose a password different from the current one")
    new_hash = hash_password(new)
    with write_session(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise AccountError("this account cannot sign in")
        _store_password(user, new_hash, must_change=False)
        audit.record(
            session, audit.user_ref(user_id), "user.password_changed", audit.user_ref(user_id)
        )
        return Account.of(user)


def disable_user(session: Session, email: str, *, actor: str = audit.CLI) -> User:
    """Refuse the account's logins from now on and end its sessions (idempotent)."""
    user = user_or_error(session, email)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        user.session_epoch += 1
        audit.record(session, actor, "user.disabled", audit.user_ref(user.id))
    session.flush()
    return user


def enable_user(session: Session, email: str, *, actor: str = audit.CLI) -> User:
    user = user_or_error(session, email)
    if user.disabled_at is not None:
        user.disabled_at = None
        audit.record(session, actor, "user.enabled", audit.user_ref(user.id))
    session.flush()
    return user


def end_sessions(engine: Engine, user_id: int, *, reason: str = "logout") -> None:
    """Make every login cookie of the account worthless (logout ends them everywhere)."""
    with write_session(engine) as session:
        session.execute(
            update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1)
        )
        audit.record(session, audit.user_ref(user_id), reason, audit.user_ref(user_id))


def _store_password(user: User, password_hash: str, *, must_change: bool) -> None:
    """A new password ends every session of the account (its epoch moves)."""
    user.password_hash = password_hash
    user.must_change_password = must_change
    user.password_changed_at = utcnow()
    user.session_epoch += 1


# Logging in ----------------------------------------------------------------------------------
def authenticate(engine: Engine, email: str, password: str) -> Account | None:
    """The account if ``email`` and ``password`` match an active account, else None.

    Unknown address, wrong password and disabled account all cost one hash and all return None
    (the audit entry keeps the reason). A hash made with older parameters is replaced.
    Raises ``HashingBusyError`` when too many checks are running already.
    """
    try:
        address = normalise_email(email)
    except AccountError:
        address = None
    with read_session(engine) as session:
        user = (
            session.scalar(select(User).where(User.email == address))
            if address is not None
            else None
        )
        snapshot = (user.id, user.password_hash, user.active) if user is not None else None
    stored = snapshot[1] if snapshot is not None else _dummy_hash()
    matches = _verify(stored, password[: PASSWORD_MAX_LENGTH + 1])
    if snapshot is None:
        with write_session(engine) as session:
            audit.record(session, audit.ANONYMOUS, "login.failed", None, {"reason": "unknown"})
        return None
    user_id, _, active = snapshot
    with write_session(engine) as session:
        if not (matches and active):
            reason = "disabled" if matches else "password"
            audit.record(
                session,
                audit.ANONYMOUS,
                "login.failed",
                audit.user_ref(user_id),
                {"reason": reason},
            )
            return None
        user = session.get(User, user_id)
        if user is None:  # deleted between the read and now
            return None
        user.last_login_at = utcnow()
        if PASSWORD_HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        audit.record(session, audit.user_ref(user_id), "login.succeeded", audit.user_ref(user_id))
        return Account.of(user)


def _verify(stored: str, password: str) -> bool:
    with _hashing_slot():
        try:
            return PASSWORD_HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


@functools.cache
def _dummy_hash() -> str:
    """A hash nobody knows the password of, checked for unknown addresses (equal cost)."""
    return PASSWORD_HASHER.hash(secrets.token_urlsafe(32))


class _hashing_slot:  # noqa: N801 - used as a context manager, reads as a phrase
    def __enter__(self) -> None:
        if not _hashing.acquire(timeout=HASHING_WAIT_SECONDS):
            raise HashingBusyError("too many sign-ins at once; try again in a moment")

    def __exit__(self, *exc: object) -> None:
        _hashing.release()


# API keys ------------------------------------------------------------------------------------
def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session,
    name: str,
    *,
    campaign_key: str | None = None,
    actor: str = audit.CLI,
) -> IssuedKey:
    """A new key for the integration ``name``, limited to one campaign if ``campaign_key``."""
    cleaned = " ".join(str(name).split())
    if not cleaned or len(cleaned) > API_KEY_NAME_LENGTH or "@" in cleaned:
        raise AccountError(
            f"give the key a name of 1 to {API_KEY_NAME_LENGTH} characters, "
            "naming the system that uses it (no e-mail address)"
        )
    if session.scalar(select(ApiKey.id).where(ApiKey.name == cleaned)) is not None:
        raise AccountError(f"an API key named {cleaned!r} exists already")
    campaign = campaign_or_error(session, campaign_key) if campaign_key is not None else None
    key = API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_BYTES)
    row = ApiKey(
        name=cleaned,
        prefix=key[: len(API_KEY_PREFIX) + 6],
        key_hash=key_hash(key),
        campaign_id=campaign.id if campaign is not None else None,
        campaign=campaign,
    )
    session.add(row)
    session.flush()
    detail = {"name": cleaned, "campaign": campaign.key if campaign is not None else None}
    audit.record(session, actor, "apikey.created", audit.api_key_ref(row.id), detail)
    return IssuedKey(row.id, cleaned, key, row.prefix, detail["campaign"])


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.name)).all()


def revoke_api_key(session: Session, name: str, *, actor: str = audit.CLI) -> ApiKey:
    """Refuse the key from now on (idempotent)."""
    row = session.scalar(select(ApiKey).where(ApiKey.name == " ".join(str(name).split())))
    if row is None:
        raise NotFoundError(f"no API key named {str(name)[:60]!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session, actor, "apikey.revoked", audit.api_key_ref(row.id), {"name": row.name}
        )
    session.flush()
    return row


def find_api_client(session: Session, key: str) -> ApiClient | None:
    """The active key's client, or None for an unknown, malformed or revoked key."""
    if not key.startswith(API_KEY_PREFIX) or len(key) > API_KEY_MAX_LENGTH:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash(key)))
    if row is None or not row.active:
        return None
    campaign = row.campaign.key if row.campaign is not None else None
    return ApiClient(row.id, row.name, campaign, row.last_used_at)


def touch_api_key(engine: Engine, client: ApiClient) -> None:
    """Record that the key was used (at most once per ``API_KEY_TOUCH_INTERVAL``)."""
    now = utcnow()
    if (
        client.last_used_at is not None
        and as_utc(client.last_used_at) > now - API_KEY_TOUCH_INTERVAL
    ):
        return
    with write_session(engine) as session:
        session.execute(update(ApiKey).where(ApiKey.id == client.id).values(last_used_at=now))
