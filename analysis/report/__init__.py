"""PDF assessment reports: assessment JSON → report model → autoescaped HTML → WeasyPrint PDF.

See docs/reports.md for the sections, the comment-selection rule and the security measures.
Names are loaded on first use, so that importing one submodule (the render child imports only
``analysis.report.pdf``) does not import matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Comment": "analysis.report.comments",
    "CommentPolicy": "analysis.report.comments",
    "ReportModel": "analysis.report.model",
    "build_report_model": "analysis.report.model",
    "render_html": "analysis.report.render",
    "render_report": "analysis.report.render",
    "RenderFailedError": "analysis.report.sandbox",
    "RenderLimits": "analysis.report.sandbox",
    "RenderTimeoutError": "analysis.report.sandbox",
    "ReportError": "analysis.report.voice",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'analysis.report' has no attribute {name!r}")
