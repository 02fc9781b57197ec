"""Staff sessions with Flask-Login, revocable although the session is a signed cookie.

The cookie's user id is ``"<user id>:<session epoch>"`` (Flask-Login's "alternative token"
pattern). Logout, a password change and disabling an account bump the epoch in the database,
so every cookie issued before — including copies an attacker may hold — stops loading a user
(security.md §1.4, ASVS 7.4.1). A sign-in also starts from an empty session (``session.clear``)
so nothing planted before it survives, and a session lasts at most ``GAPMETER_STAFF_SESSION_HOURS``
from sign-in, however active.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask, current_app, session
from flask_login import LoginManager, login_user, logout_user

from surveys.models import Role
from surveys.services.accounts import Account, get_account
from webapp.database import get_session

SIGNED_IN_AT = "signed_in_at"
DEFAULT_SESSION_HOURS = 12

login_manager = LoginManager()
login_manager.login_view = "auth.login"


@dataclass(frozen=True, slots=True)
class StaffUser:
    """The signed-in account as Flask-Login sees it."""

    account: Account

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.account.active

    @property
    def id(self) -> int:
        return self.account.id

    @property
    def email(self) -> str:
        return self.account.email

    @property
    def role(self) -> Role:
        return self.account.role

    @property
    def must_change_password(self) -> bool:
        return self.account.must_change_password

    def get_id(self) -> str:
        return f"{self.account.id}:{self.account.session_epoch}"


def init_app(app: Flask) -> None:
    app.config.setdefault("GAPMETER_STAFF_SESSION_HOURS", DEFAULT_SESSION_HOURS)
    login_manager.init_app(app)


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """The account of the cookie, unless its epoch is past, it is disabled or too old."""
    user_part, _, epoch_part = user_id.partition(":")
    if not (user_part.isdecimal() and epoch_part.isdecimal()):
        return None
    signed_in_at = session.get(SIGNED_IN_AT)
    hours = float(current_app.config["GAPMETER_STAFF_SESSION_HOURS"])
    if not isinstance(signed_in_at, int | float) or time.time() - signed_in_at > hours * 3600:
        return None
    account = get_account(get_session(), int(user_part))
    if account is None or not account.active or account.session_epoch != int(epoch_part):
        return None
    return StaffUser(account)


def sign_in(account: Account) -> None:
    """Start a fresh session for ``account`` (anything in the old one is dropped)."""
    session.clear()
    login_user(StaffUser(account))
    session[SIGNED_IN_AT] = int(time.time())


def sign_out() -> None:
    logout_user()
    session.clear()
