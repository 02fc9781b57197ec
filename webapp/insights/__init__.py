"""Insights for managers (``/insights``): the dashboard of a scope, method notes, service
standards (targets) and the PDF report of the same scope. Every page needs the manager role
(admins pass); see ``webapp.auth.policy``."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, Flask

from surveys.models import Role
from webapp.auth.policy import declare_blueprint, staff

bp = Blueprint("insights", __name__, url_prefix="/insights")
declare_blueprint(bp, staff(Role.MANAGER))

from webapp.insights import routes  # noqa: E402,F401 - registers the views on bp
from webapp.insights.jobs import EXTENSION, WORKERS, ReportJobs  # noqa: E402


def init_app(app: Flask) -> None:
    """One report job pool per app; job files in ``<instance>/reports``."""
    workers = int(
        app.config.get("GAPMETER_REPORT_WORKERS")
        or os.environ.get("GAPMETER_REPORT_WORKERS")
        or WORKERS
    )
    app.extensions[EXTENSION] = ReportJobs(Path(app.instance_path) / "reports", workers)
