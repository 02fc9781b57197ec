"""The studio blueprint: researchers' pages under ``/studio`` (admins pass too).

Every endpoint is declared for the researcher role at once (``declare_blueprint``), so a view
added later is covered by the route policy without a decorator. Domain errors are shown on the
page that caused them; the views only call the services in ``surveys`` and ``analysis``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user

from surveys.models import Role
from surveys.services import audit
from webapp.auth.policy import declare_blueprint, staff
from webapp.forms.i18n import language_name, ui

bp = Blueprint("studio", __name__, url_prefix="/studio")
declare_blueprint(bp, staff(Role.RESEARCHER))


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    """What the respond form macros need (the preview draws the survey with them)."""
    return {"ui": ui, "language_name": language_name}


def actor() -> str:
    """The audit reference of the signed-in researcher (``user:<id>``, never an address)."""
    return audit.user_ref(int(current_user.id))
