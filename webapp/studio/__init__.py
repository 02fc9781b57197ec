"""Researchers' pages (``/studio``): instruments, campaigns, invitations, data and reliability.

Importing the view modules registers their routes on ``bp``; every route is for researchers
(and admins), declared once for the blueprint (``webapp.auth.policy``).
"""

from webapp.studio import campaign_views, data_views, instrument_views  # noqa: F401 - routes
from webapp.studio.blueprint import bp

__all__ = ["bp"]
