"""Who may call which endpoint: a declared policy per endpoint, enforced before the view runs.

Deny by default (security.md S9, S10): every request to an endpoint is checked against its
policy by ``enforce`` (a ``before_request`` hook, run before the view and the API's rate
limits), and an endpoint with no declared policy is refused with 403 and logged. A policy is
declared

* on a view, with ``@public``, ``@require_role(...)`` or ``@api_key_required``;
* for a whole blueprint, with ``declare_blueprint(bp, policy)`` (a view's own wins);
* by endpoint name, with ``declare(endpoint, policy)``, for views whose modules predate this
  registry (the survey pages, ``/health``, static files: ``PUBLIC_ENDPOINTS``).

Roles: an admin may do everything staff may; ``require_role("researcher")`` is the studio,
``require_role("manager")`` insights. API endpoints take an API key only (a staff session
cookie is not enough, S9), checked by ``webapp.auth.apikeys``.

Refusals: anonymous on a page → 303 to the login page with a same-site ``next``; anonymous on
an API endpoint (or a JSON client) → 401; signed in with the wrong role → 403. Every non-public
reply is marked ``Cache-Control: no-store`` (S14).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Response

from surveys.models import Role
from webapp.errors import wants_json
from webapp.security import no_store

F = TypeVar("F", bound=Callable[..., Any])

#: Attribute a decorated view carries its policy in.
POLICY_ATTRIBUTE = "gapmeter_policy"
#: Endpoints a signed-in user who must change a one-time password may still reach.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.password", "auth.logout", "static"})


class Kind(StrEnum):
    PUBLIC = "public"  # anyone: survey pages, login, health
    STAFF = "staff"  # a signed-in account with one of ``roles``
    API = "api"  # an API key as a bearer token


@dataclass(frozen=True, slots=True)
class Policy:
    """Who may call an endpoint."""

    kind: Kind
    roles: frozenset[Role] = frozenset()

    def allows(self, role: Role | str | None) -> bool:
        """Whether a signed-in account of ``role`` passes (public endpoints let everyone in)."""
        if self.kind is Kind.PUBLIC:
            return True
        if self.kind is Kind.API or role is None:
            return False
        return Role(role) in self.roles

    def describe(self) -> str:
        if self.kind is Kind.STAFF:
            return "staff: " + ", ".join(sorted(self.roles))
        return self.kind.value


PUBLIC = Policy(Kind.PUBLIC)
API = Policy(Kind.API)

_by_endpoint: dict[str, Policy] = {}
_by_blueprint: dict[str, Policy] = {}


def staff(*roles: Role | str) -> Policy:
    """Signed-in accounts of ``roles`` (any role when none is named), and always admins."""
    chosen = {Role(role) for role in roles} if roles else set(Role)
    return Policy(Kind.STAFF, frozenset(chosen | {Role.ADMIN}))


# Declaring ------------------------------------------------------------------------------------
def _mark(policy: Policy) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        setattr(view, POLICY_ATTRIBUTE, policy)
        return view

    return decorate


def public(view: F) -> F:
    """Declare a view open to everyone (survey pages, login, health)."""
    return _mark(PUBLIC)(view)


def require_role(*roles: Role | str) -> Callable[[F], F]:
    """Declare a view for signed-in accounts of ``roles`` (admins always pass; no roles: any
    signed-in account). Enforced by ``enforce`` before the view runs."""
    return _mark(staff(*roles))


def api_key_required(view: F) -> F:
    """Declare a view for API clients (a valid, unrevoked API key as bearer token)."""
    return _mark(API)(view)


def declare(endpoint: str, policy: Policy) -> None:
    """Declare the policy of an endpoint by name (for views that cannot carry a decorator)."""
    _by_endpoint[endpoint] = policy


def declare_blueprint(blueprint: Blueprint | str, policy: Policy) -> None:
    """Declare the policy of every endpoint of a blueprint that does not declare its own."""
    _by_blueprint[blueprint if isinstance(blueprint, str) else blueprint.name] = policy


#: Public endpoints of modules written before this registry (the issue: "every route except
#: the public survey pages, login and health requires a login").
PUBLIC_ENDPOINTS = (
    "static",
    "health.health",
    "respond.open_link",
    "respond.invitation_link",
    "respond.invitation",
    "respond.thanks",
)
for _endpoint in PUBLIC_ENDPOINTS:
    declare(_endpoint, PUBLIC)


def policy_of(app: Flask, endpoint: str) -> Policy | None:
    """The declared policy of ``endpoint`` in ``app``; None when nothing declares one."""
    view = app.view_functions.get(endpoint)
    declared = getattr(view, POLICY_ATTRIBUTE, None) if view is not None else None
    if isinstance(declared, Policy):
        return declared
    if endpoint in _by_endpoint:
        return _by_endpoint[endpoint]
    blueprint, dot, _ = endpoint.rpartition(".")
    while dot:
        if blueprint in _by_blueprint:
            return _by_blueprint[blueprint]
        blueprint, dot, _ = blueprint.rpartition(".")
    return None


def undeclared_endpoints(app: Flask) -> list[str]:
    return sorted(endpoint for endpoint in app.view_functions if policy_of(app, endpoint) is None)


def endpoints_for(app: Flask, role: Role | str) -> Iterable[str]:
    """The staff endpoints ``role`` may call (for menus)."""
    for endpoint in sorted(app.view_functions):
        policy = policy_of(app, endpoint)
        if policy is not None and policy.kind is Kind.STAFF and policy.allows(role):
            yield endpoint


# Enforcing ------------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Check the policy before every request, after the CSRF check (a form post without its
    token is a 400 whoever sends it, security.md S9) and before the rate limits and the view."""
    app.before_request(enforce)
    app.after_request(_no_store_unless_public)


def enforce() -> ResponseReturnValue | None:
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: the 404/405 handlers answer
        return None
    policy = policy_of(current_app, endpoint)
    if policy is None:
        current_app.logger.error(
            "refused %s: endpoint %s declares no policy", request.method, endpoint
        )
        abort(403)
    if policy.kind is Kind.PUBLIC:
        return None
    if policy.kind is Kind.API:
        from webapp.auth.apikeys import authenticate_request

        authenticate_request()
        return None
    if not current_user.is_authenticated:
        return _sign_in_first()
    if current_user.must_change_password and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("auth.password"), 303)
    if not policy.allows(current_user.role):
        current_app.logger.warning(
            "refused %s %s to user %s (role %s; needs %s)",
            request.method,
            endpoint,
            current_user.id,
            current_user.role,
            policy.describe(),
        )
        abort(403)
    return None


def _sign_in_first() -> ResponseReturnValue:
    if wants_json():
        raise Unauthorized("Sign in first.")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target), 303)


def _no_store_unless_public(response: Response) -> Response:
    endpoint = request.endpoint
    policy = policy_of(current_app, endpoint) if endpoint is not None else PUBLIC
    if policy is None or policy.kind is not Kind.PUBLIC:
        no_store(response)
    return response
