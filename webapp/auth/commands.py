"""``gapmeter user ...`` and ``gapmeter apikey ...``: accounts and API keys from the command line,
plus ``create_demo_accounts`` for ``gapmeter demo``.

Secrets are printed once, on standard output, and never again: a generated one-time password
(changed at the first sign-in) or an API key. ``--password-stdin`` reads a chosen password from
standard input instead, so it never appears in the shell history or the process list.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from flask.cli import AppGroup
from sqlalchemy import Engine

from surveys.db import read_session, write_session
from surveys.errors import SurveysError
from surveys.models import Role
from surveys.services import accounts
from surveys.services.accounts import Credentials
from webapp.database import get_engine

F = TypeVar("F", bound=Callable[..., Any])

#: Demo accounts: one per role, at a reserved example domain.
DEMO_ACCOUNTS = tuple((f"{role.value}@example.com", role) for role in Role)

user = AppGroup("user", help="Staff accounts: add, list, disable, enable, reset a password.")
apikey = AppGroup("apikey", help="API keys of other systems: create, list, revoke.")

ROLE_CHOICE = click.Choice([role.value for role in Role])


def domain_errors(func: F) -> F:
    """A domain error becomes its message and exit status 1 (as ``webapp.cli`` does; not
    imported from there, which will import this module)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SurveysError as error:
            raise click.ClickException(str(error)) from None

    return wrapper  # type: ignore[return-value]


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise click.UsageError("--password-stdin: no password on standard input")
    return password


def _print_credentials(credentials: Credentials) -> None:
    if credentials.one_time:
        click.echo(f"one-time password for {credentials.email}: {credentials.password}")
        click.echo("it is shown only now; it must be changed at the first sign-in", err=True)


# Users ----------------------------------------------------------------------------------------
@user.command("add")
@click.argument("email")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@domain_errors
def user_add(email: str, role: str, password_stdin: bool) -> None:
    """Add an account; prints a one-time password unless --password-stdin."""
    password = _read_password() if password_stdin else None
    with write_session(get_engine()) as session:
        credentials = accounts.add_user(session, email, role, password)
    click.echo(f"added {credentials.email} ({credentials.role})", err=True)
    _print_credentials(credentials)


@user.command("list")
def user_list() -> None:
    """Accounts with their role, state and last sign-in."""
    with read_session(get_engine()) as session:
        rows = accounts.list_users(session)
        if not rows:
            click.echo("no accounts (add one with: gapmeter user add EMAIL --role admin)")
        for row in rows:
            state = "disabled" if row.disabled_at is not None else "active"
            if row.must_change_password and row.disabled_at is None:
                state = "active, must change password"
            last = f"{row.last_login_at:%Y-%m-%d %H:%M}" if row.last_login_at else "never"
            click.echo(f"{row.email}\t{row.role}\t{state}\tlast sign-in {last}")


@user.command("disable")
@click.argument("email")
@domain_errors
def user_disable(email: str) -> None:
    """Refuse the account's sign-ins and end its sessions."""
    with write_session(get_engine()) as session:
        row = accounts.disable_user(session, email)
        click.echo(f"disabled {row.email}")


@user.command("enable")
@click.argument("email")
@domain_errors
def user_enable(email: str) -> None:
    """Allow a disabled account to sign in again."""
    with write_session(get_engine()) as session:
        row = accounts.enable_user(session, email)
        click.echo(f"enabled {row.email}")


@user.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@domain_errors
def user_password(email: str, password_stdin: bool) -> None:
    """Set a new password (a printed one-time one unless --password-stdin); ends every session
    of the account."""
    password = _read_password() if password_stdin else None
    with write_session(get_engine()) as session:
        credentials = accounts.reset_password(session, email, password)
    click.echo(f"password of {credentials.email} reset; its sessions have ended", err=True)
    _print_credentials(credentials)


# API keys -------------------------------------------------------------------------------------
@apikey.command("create")
@click.argument("name")
@click.option("--campaign", "campaign_key", help="Limit the key to this campaign.")
@domain_errors
def apikey_create(name: str, campaign_key: str | None) -> None:
    """Create a key for one integration; prints the key once."""
    with write_session(get_engine()) as session:
        issued = accounts.create_api_key(session, name, campaign_key=campaign_key)
    scope = f"campaign {issued.campaign_key}" if issued.campaign_key else "every campaign"
    click.echo(f"created API key {issued.name!r} for {scope}", err=True)
    click.echo(issued.key)
    click.echo("it is shown only now: store it in the other system's secret settings", err=True)


@apikey.command("list")
def apikey_list() -> None:
    """Keys with their scope, state and last use (never the keys themselves)."""
    with read_session(get_engine()) as session:
        rows = accounts.list_api_keys(session)
        if not rows:
            click.echo("no API keys (create one with: gapmeter apikey create NAME)")
        for row in rows:
            scope = row.campaign.key if row.campaign is not None else "*"
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            click.echo(f"{row.name}\t{row.prefix}…\t{scope}\t{state}\tlast used {used}")


@apikey.command("revoke")
@click.argument("name")
@domain_errors
def apikey_revoke(name: str) -> None:
    """Refuse a key from now on."""
    with write_session(get_engine()) as session:
        row = accounts.revoke_api_key(session, name)
        click.echo(f"revoked {row.name}")


# Demo -----------------------------------------------------------------------------------------
def create_demo_accounts(engine: Engine) -> list[tuple[str, str, str]]:
    """One account per role with a fresh random password (reset if the account exists), as
    ``(email, role, password)`` for ``gapmeter demo`` to print."""
    made: list[tuple[str, str, str]] = []
    with write_session(engine) as session:
        for email, role in DEMO_ACCOUNTS:
            password = accounts.one_time_password()
            existing = accounts.get_user(session, email)
            if existing is None:
                accounts.add_user(session, email, role, password)
            else:
                accounts.enable_user(session, email)
                accounts.reset_password(session, email, password)
                existing.role = role
            made.append((email, role.value, password))
    return made
