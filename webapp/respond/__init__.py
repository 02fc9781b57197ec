"""Public survey pages for respondents (open links and personal invitations)."""

from webapp.respond.routes import bp

__all__ = ["bp"]
