"""Public survey pages for respondents (open links and personal invitations)."""

from webapp.respond.caches import init_app
from webapp.respond.routes import bp

__all__ = ["bp", "init_app"]
