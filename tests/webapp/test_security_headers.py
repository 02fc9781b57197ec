"""Response headers, cookies and CSRF coverage (security.md S9, S13, S14, S17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from itsdangerous import BadSignature
from sqlalchemy import Engine
from werkzeug.routing import Rule

from surveys.instrument import Instrument
from surveys.models import Access
from tests.webapp.conftest import SurveyClient, add_campaign, add_invitation, make_app
from webapp.auth.policy import PUBLIC, declare
from webapp.security import CONTENT_SECURITY_POLICY, csrf

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def test_csp_is_strict() -> None:
    for directive in (
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def paths(app_engine: Engine, instrument: Instrument) -> dict[str, int]:
    """Every kind of page the public sees, with its expected status."""
    open_key = add_campaign(app_engine, instrument)
    invite_key = add_campaign(app_engine, instrument, access=Access.INVITATION)
    token = add_invitation(app_engine, invite_key)
    return {
        f"/s/{open_key}": 200,
        f"/s/{open_key}?lang=zh-Hant": 200,
        f"/s/{open_key}/thanks": 200,
        f"/s/{invite_key}": 403,
        "/s/unknown": 404,
        "/i/": 404,  # before the invitation link, which keeps its token in the session
        f"/i/{token}": 303,
        "/i/not-a-token": 404,
        "/health": 200,
        "/static/app.css": 200,
        "/nowhere": 404,
    }


def test_security_headers_on_every_page(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    for path, status in paths(app_engine, mixed).items():
        reply = client.client.get(path)
        reply.close()  # static files are streamed
        assert reply.status_code == status, path
        for name, value in EXPECTED.items():
            assert reply.headers.get(name) == value, (path, name)
        assert "Strict-Transport-Security" not in reply.headers
        if path.startswith(("/s/", "/i/")):
            assert reply.headers["Cache-Control"] == "no-store", path


def test_csrf_failure_and_posted_pages_carry_the_headers(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    for reply in (client.post(page, drop=("csrf_token",)), client.post(page)):
        assert reply.status in {400, 422}
        for name, value in EXPECTED.items():
            assert reply.response.headers.get(name) == value
        assert reply.response.headers["Cache-Control"] == "no-store"


def test_secure_mode_adds_hsts_and_a_host_prefixed_secure_cookie(
    db_url: str, tmp_path: Path, mixed: Instrument
) -> None:
    app = make_app(db_url, tmp_path, **secure_settings(tmp_path))
    engine = app.extensions["gapmeter.engine"]
    key = add_campaign(engine, mixed)
    reply = app.test_client().get(f"/s/{key}", base_url="https://localhost")
    assert reply.status_code == 200
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie
    engine.dispose()


def secure_settings(tmp_path: Path) -> dict[str, object]:
    from webapp.settings import settings_from_env

    env = {"GAPMETER_SECURE_COOKIES": "1", "GAPMETER_SECRET_KEY": "s" * 40}
    settings = settings_from_env(tmp_path, env)
    return {key: settings[key] for key in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_NAME")}


def test_default_cookie_is_http_only_and_lax(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    key = add_campaign(app_engine, mixed)
    cookie = client.client.get(f"/s/{key}").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# CSRF ----------------------------------------------------------------------------------------
def _url(app: Flask, rule: Rule, known: dict[str, str]) -> str:
    """A URL of ``rule``: known arguments as given, any other as 1 (fits int and string)."""
    values: dict[str, object] = {name: known.get(name, 1) for name in rule.arguments}
    return app.url_map.bind("localhost").build(rule.endpoint, values, method="POST")


def test_every_post_route_refuses_a_post_without_a_csrf_token(
    app: Flask, app_engine: Engine, mixed: Instrument
) -> None:
    """S9: enumerate the URL map; each POST route outside an exempt blueprint answers 400 to a
    form post with no token, and stores nothing. A new route fails here until it is covered."""
    key = add_campaign(app_engine, mixed, access=Access.OPEN)
    token = add_invitation(app_engine, key)
    values = {"campaign_key": key, "token": token}
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()):
            continue
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        if blueprint is not None and blueprint in csrf._exempt_blueprints:
            continue
        data = {"gm_nav": "next", "gm_token": token}
        reply = app.test_client().post(_url(app, rule, values), data=data)
        assert reply.status_code == 400, rule.rule
        checked.append(rule.endpoint)
    assert {"respond.open_link", "respond.invitation"} <= set(checked)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_site_posts_are_refused_even_with_a_valid_token(
    client: SurveyClient, app_engine: Engine, mixed: Instrument, headers: dict[str, str]
) -> None:
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    answers = {name: values[0] for name, values in page.radios.items()}
    refused = client.post(page, answers, headers=headers)
    assert refused.status == 400
    assert refused.checked == answers  # answers kept all the same
    same_origin = client.post(
        page, answers, headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    )
    assert same_origin.status == 200
    assert same_origin.page_number() == (2, 3)


def test_missing_referer_over_https_is_accepted(
    db_url: str, tmp_path: Path, mixed: Instrument
) -> None:
    """A browser that strips Referer must still be able to submit (security.md R12 b)."""
    app = make_app(db_url, tmp_path, **secure_settings(tmp_path))
    engine = app.extensions["gapmeter.engine"]
    key = add_campaign(engine, mixed)
    client = SurveyClient(app.test_client())
    page = client.open_survey(f"/s/{key}", base_url="https://localhost")
    answers = {name: values[0] for name, values in page.radios.items()}
    reply = client.post(page, answers, base_url="https://localhost")
    assert reply.status == 200
    assert reply.page_number() == (2, 3)
    engine.dispose()


def test_a_header_a_view_sets_is_kept_and_none_is_doubled(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path)

    @app.get("/own-policy")
    def own_policy() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"content-security-policy": "default-src 'none'"}

    declare("own_policy", PUBLIC)
    reply = app.test_client().get("/own-policy")
    assert reply.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert reply.headers.getlist("X-Frame-Options") == ["DENY"]
    app.extensions["gapmeter.engine"].dispose()


def test_session_cookies_signed_with_a_retired_key_still_open(db_url: str, tmp_path: Path) -> None:
    """The kept serializer honours ``SECRET_KEY_FALLBACKS``: a cookie signed with the key
    before a rotation opens; one signed with an unknown key does not."""
    old = make_app(db_url, tmp_path / "old", SECRET_KEY="o" * 40)
    rotated = make_app(
        db_url, tmp_path / "new", SECRET_KEY="n" * 40, SECRET_KEY_FALLBACKS=["o" * 40]
    )
    stranger = make_app(db_url, tmp_path / "other", SECRET_KEY="x" * 40)
    with old.test_request_context():
        cookie = old.session_interface.get_signing_serializer(old).dumps({"probe": 1})
    for app, opens in ((rotated, True), (stranger, False)):
        serializer = app.session_interface.get_signing_serializer(app)
        assert serializer is app.session_interface.get_signing_serializer(app)  # made once
        try:
            opened = serializer.loads(cookie) == {"probe": 1}
        except BadSignature:
            opened = False
        assert opened is opens
    for app in (old, rotated, stranger):
        app.extensions["gapmeter.engine"].dispose()
