"""Staff accounts on the web: sign-in pages, Flask-Login sessions, the route policy registry and
API-key checks. Other blueprints declare who may call their views with ``public``,
``require_role(...)`` or ``api_key_required`` (``webapp.auth.policy``)."""

from __future__ import annotations

from flask import Flask

from webapp.auth import policy, routes, sessions, throttle
from webapp.auth.policy import (
    api_key_required,
    declare,
    declare_blueprint,
    public,
    require_role,
)
from webapp.auth.routes import bp


def init_app(app: Flask) -> None:
    """Sessions (Flask-Login), rate-limit storage and the policy check before every request."""
    throttle.configure(app)
    sessions.init_app(app)
    policy.init_app(app)
    app.jinja_env.globals["staff_areas"] = routes.staff_areas


__all__ = [
    "api_key_required",
    "bp",
    "declare",
    "declare_blueprint",
    "init_app",
    "public",
    "require_role",
]
