"""API keys on requests: ``Authorization: Bearer <key>`` → the integration calling (``g``).

Only the key counts: a staff session cookie on an API request is ignored, so a browser tricked
into calling the API carries no authority (security.md S9). A key limited to one campaign may
only touch that campaign (403 otherwise, checked before the campaign is even looked up, so a
scoped key cannot probe which other campaigns exist).
"""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from surveys.services.accounts import ApiClient, find_api_client, touch_api_key
from webapp.database import get_engine, get_session, release_session

#: ``g`` attribute holding the request's ``ApiClient``.
CLIENT = "api_client"


class ApiUnauthorized(Unauthorized):
    """401 with the ``WWW-Authenticate: Bearer`` challenge RFC 6750 asks for."""

    def __init__(self, description: str) -> None:
        super().__init__(description, www_authenticate=WWWAuthenticate("bearer", {"realm": "api"}))


def authenticate_request() -> ApiClient:
    """The client of the request's bearer key (kept in ``g``); raises ``ApiUnauthorized``."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiUnauthorized(
            "This endpoint needs an API key, sent as the header 'Authorization: Bearer <key>'. "
            "An administrator creates one with: gapmeter apikey create NAME"
        )
    client = find_api_client(get_session(), key)
    release_session()
    if client is None:
        current_app.logger.warning(
            "refused %s %s: unknown or revoked API key", request.method, request.endpoint
        )
        raise ApiUnauthorized("The API key is unknown or has been revoked.")
    setattr(g, CLIENT, client)
    touch_api_key(get_engine(), client)
    return client


def current_client() -> ApiClient:
    client: ApiClient = g.get(CLIENT)
    if client is None:  # only reachable through a view without the API policy
        raise ApiUnauthorized("This endpoint needs an API key.")
    return client


def client_bucket() -> str:
    """The rate-limit bucket of the request: its API key."""
    client = g.get(CLIENT)
    return f"apikey:{client.id}" if client is not None else f"ip:{request.remote_addr}"


def check_campaign_scope(campaign_key: str) -> None:
    """Refuse (403) a key limited to another campaign."""
    scope = current_client().campaign_key
    if scope is not None and scope != campaign_key:
        current_app.logger.warning(
            "refused %s %s: API key %s is limited to another campaign",
            request.method,
            request.endpoint,
            current_client().id,
        )
        raise Forbidden(f"This API key may only be used for campaign {scope!r}.")
