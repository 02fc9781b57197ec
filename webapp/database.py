"""The app's engine (one per app) and a session per request, closed at teardown (flaskr's
``get_db`` shape, for SQLAlchemy). Also ``/health``, which proves the database answers."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from surveys.db import make_engine, make_sessionmaker

ENGINE = "gapmeter.engine"
SESSIONMAKER = "gapmeter.sessionmaker"

bp = Blueprint("health", __name__)


def init_app(app: Flask) -> None:
    """Make the engine once, keep it and a sessionmaker in ``app.extensions``."""
    engine = make_engine(app.config["GAPMETER_DATABASE_URL"])
    app.extensions[ENGINE] = engine
    app.extensions[SESSIONMAKER] = make_sessionmaker(engine)
    app.teardown_appcontext(close_session)
    app.register_blueprint(bp)


def get_engine() -> Engine:
    engine: Engine = current_app.extensions[ENGINE]
    return engine


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[SESSIONMAKER]()
    session: Session = g.db_session
    return session


def rollback_session() -> None:
    """Roll back the request's session, if one was opened (after an unexpected error)."""
    session: Session | None = g.get("db_session")
    if session is not None:
        session.rollback()


def release_session() -> None:
    """Close the request's session now, returning its connection to the pool (before a write
    that takes its own connection, so a request never holds two)."""
    close_session()


def close_session(exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


@bp.get("/health")
def health() -> ResponseReturnValue:
    """``200 {"status": "ok"}`` when a trivial query succeeds, else 503."""
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("health check: database unavailable")
        return jsonify(status="unavailable", database="unavailable"), 503
    return jsonify(status="ok", database="ok")
