"""Sign in (``/login``), sign out (``/logout``), the account page and the password change.

A failed sign-in says the same thing, with the same status, whether the address is unknown or
the password wrong (the hash is checked either way). Failures are counted per account before
any hash is computed; a locked account gets 429 for everyone until the lock ends. After signing
in, ``next`` is followed only to a path on this site (``safe_next``, security.md S15).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.services.accounts import (
    AccountError,
    HashingBusyError,
    WrongPasswordError,
    authenticate,
    change_password,
    end_sessions,
)
from webapp.auth.forms import LoginForm, PasswordForm
from webapp.auth.policy import PUBLIC, declare, endpoints_for, public, require_role
from webapp.auth.sessions import sign_in, sign_out
from webapp.auth.throttle import login_throttle
from webapp.database import get_engine, release_session
from webapp.security import no_store

bp = Blueprint("auth", __name__, static_folder="static", static_url_path="/auth-static")
declare("auth.static", PUBLIC)


@bp.after_request
def _private(response: Response) -> Response:
    """Sign-in pages carry a CSRF token, account pages an address: never cached (not the CSS)."""
    return response if request.endpoint == "auth.static" else no_store(response)


WRONG_CREDENTIALS = "The e-mail address or the password is not right."
LOCKED = (
    "Too many failed sign-ins for this account. Wait 15 minutes, then try again, "
    "or ask an administrator to reset the password."
)
BUSY = "Too many sign-ins at once. Wait a moment and try again."
#: Seconds a client is asked to wait after 429/503.
RETRY_AFTER = {429: "900", 503: "5"}


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no scheme, host, ``//`` or
    backslash, and nothing a browser would strip, such as tabs or line breaks)."""
    if not target or len(target) > 2000 or not target.isprintable() or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def landing() -> str:
    return url_for("auth.account")


# Views ----------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """The sign-in form; on success a fresh session and a redirect to ``next`` or the account."""
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_next(request.args.get("next")) or landing(), 303)
        form.next.data = safe_next(request.args.get("next")) or ""
    if not form.validate_on_submit():
        return _login_page(form)
    email, password = form.email.data or "", form.password.data or ""
    throttle = login_throttle()
    if throttle.locked(email):
        current_app.logger.warning("sign-in refused: account locked after failed attempts")
        return _login_page(form, LOCKED, 429)
    release_session()
    try:
        account = authenticate(get_engine(), email, password)
    except HashingBusyError:
        return _login_page(form, BUSY, 503)
    if account is None:
        throttle.failed(email)
        current_app.logger.warning("sign-in failed from %s", request.remote_addr)
        return _login_page(form, WRONG_CREDENTIALS, 200)
    throttle.succeeded(email)
    sign_in(account)
    current_app.logger.info("user %s signed in", account.id)
    if account.must_change_password:
        return redirect(url_for("auth.password"), 303)
    return redirect(safe_next(form.next.data) or landing(), 303)


@bp.post("/logout")
@require_role()
def logout() -> ResponseReturnValue:
    """End every session of the account (a copied cookie stops working too)."""
    user_id = current_user.id
    release_session()
    end_sessions(get_engine(), user_id)
    sign_out()
    current_app.logger.info("user %s signed out", user_id)
    return redirect(url_for("auth.login"), 303)


@bp.get("/account")
@require_role()
def account() -> ResponseReturnValue:
    """Who is signed in, and the areas their role opens."""
    return render_template("auth/account.html", areas=staff_areas(), notices=get_flashed_messages())


def staff_areas() -> list[tuple[str, str]]:
    """``(endpoint, label)`` of the areas (``<blueprint>.index``) the signed-in role opens; the
    staff layout's navigation and the account page list them."""
    if not current_user.is_authenticated:
        return []
    return [
        (endpoint, endpoint.partition(".")[0].replace("_", " ").capitalize())
        for endpoint in endpoints_for(current_app, current_user.role)
        if endpoint.endswith(".index") and not endpoint.startswith("auth.")
    ]


@bp.route("/account/password", methods=["GET", "POST"])
@require_role()
def password() -> ResponseReturnValue:
    """Change one's password; every other session of the account ends."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _password_page(form)
    throttle = login_throttle()
    if throttle.locked(current_user.email):
        return _password_page(form, LOCKED, 429)
    user_id, email = current_user.id, current_user.email
    release_session()
    try:
        account = change_password(
            get_engine(), user_id, form.current.data or "", form.new.data or ""
        )
    except WrongPasswordError as error:
        throttle.failed(email)
        form.current.errors = [_sentence(str(error))]
        return _password_page(form, status=422)
    except AccountError as error:
        form.new.errors = [_sentence(str(error))]
        return _password_page(form, status=422)
    except HashingBusyError:
        return _password_page(form, BUSY, 503)
    sign_in(account)
    flash("Your password has been changed. Other sessions of your account have ended.")
    return redirect(landing(), 303)


# Rendering ------------------------------------------------------------------------------------
def _login_page(
    form: LoginForm, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template("auth/login.html", form=form, error=error)
    return page, status, _retry_after(status)


def _password_page(
    form: PasswordForm, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template("auth/password.html", form=form, error=error)
    return page, status, _retry_after(status)


def _retry_after(status: int) -> dict[str, str]:
    return {"Retry-After": RETRY_AFTER[status]} if status in RETRY_AFTER else {}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
