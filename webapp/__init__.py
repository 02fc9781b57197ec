"""The Flask app: ``create_app(config)`` builds one from the environment (``webapp.settings``).

One blueprint package per audience: ``respond`` (public survey pages), ``auth``, ``studio``,
``insights`` and ``api``. Each is a package ``webapp.<name>`` exporting ``bp``; it may also define
``init_app(app)`` (extra set-up) and ``CSRF_EXEMPT = True`` (only the key-authenticated API).
Packages not yet present in the source tree are simply not registered.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from webapp import database, errors, security
from webapp.settings import settings_from_env

#: Largest value of the database's integer columns.
INT32_MAX = 2**31 - 1
#: Blueprint packages, in registration order.
BLUEPRINTS = ("webapp.respond", "webapp.auth", "webapp.studio", "webapp.insights", "webapp.api")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the environment (tests pass one).

    ``config["INSTANCE_PATH"]`` moves the instance folder (default SQLite file and secret key).
    """
    overrides = dict(config or {})
    instance_path = overrides.get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(instance_path) if instance_path else None,
    )
    app.url_map.converters["int"] = DatabaseInteger
    app.config.from_mapping(settings_from_env(Path(app.instance_path)))
    app.config.update(overrides)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    if app.config.get("GAPMETER_AUTO_MIGRATE"):
        prepare_database(app.config["GAPMETER_DATABASE_URL"])
    database.init_app(app)
    security.init_app(app)
    for name in BLUEPRINTS:
        register_blueprint_package(app, name)
    errors.init_app(app)
    return app


class DatabaseInteger(IntegerConverter):
    """``<int:...>`` bounded to the database's integer columns (0..2**31-1 unless a route says
    otherwise), so an id too large for them is a 404, not an overflow in the driver (a 500)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=0 if min is None else min,
            max=INT32_MAX if max is None else max,
            signed=signed,
        )


def register_blueprint_package(app: Flask, name: str) -> bool:
    """Register ``<name>.bp`` if the package exists; import errors inside it are not hidden."""
    if importlib.util.find_spec(name) is None:
        return False
    module = importlib.import_module(name)
    app.register_blueprint(module.bp)
    if getattr(module, "CSRF_EXEMPT", False):
        security.csrf.exempt(module.bp)
    if hasattr(module, "init_app"):
        module.init_app(app)
    return True


def prepare_database(url: str) -> None:
    """Bring the schema up to date and add the default segments, stages and channels."""
    from surveys import migrate, taxonomy
    from surveys.db import make_engine, write_session

    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            taxonomy.ensure_defaults(session)
    finally:
        engine.dispose()
