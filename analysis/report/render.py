"""Report model → HTML (Jinja, autoescaped) → PDF (WeasyPrint, locked fetcher, child process).

``render_report`` is what the CLI and the web app call; ``build_report_model`` and
``render_html`` are the steps, for tests and for the web page that shows the same report.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2

from analysis.report.comments import DEFAULT_POLICY, Comment, CommentPolicy
from analysis.report.model import Chart, ReportModel, build_report_model
from analysis.report.sandbox import DEFAULT_LIMITS, RenderLimits, render_isolated, warm_up
from surveys.instrument import Instrument

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("analysis.report", "templates"),
    autoescape=True,  # a bare Environment() does not escape: every value here is data
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: Page height by paper, for the full-page cover.
PAGE_HEIGHT = {"A4": "297mm", "Letter": "279.4mm"}


def chart_source(chart: Chart) -> str:
    """The chart as a ``data:`` URL: the SVG text travels inside the HTML, is parsed by
    WeasyPrint's SVG reader on its own (not as thousands of HTML elements, which is slower), and
    passes the locked fetcher's size and type check. ``charts.figure_to_svg`` has already refused
    any SVG that would load something."""
    return "data:image/svg+xml;base64," + base64.b64encode(chart.svg.encode("utf-8")).decode()


def _created(model: ReportModel) -> str:
    """The assessment's generation time for the PDF metadata (none if it is not a timestamp)."""
    try:
        return datetime.fromisoformat(model.provenance.generated_at).isoformat()
    except ValueError:
        return ""


def render_html(model: ReportModel) -> str:
    """The report as one HTML document (no external resources except ``asset:`` fonts)."""
    template = _ENVIRONMENT.get_template("report.html")
    return template.render(model=model, chart_source=chart_source, created=_created(model))


def _css_string(text: str) -> str:
    """A CSS string literal for ``text`` (our own UI words: quotes and backslashes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def page_css(model: ReportModel) -> str:
    """Paper size, cover height and the localised "Page X of Y" of one report."""
    before, _, rest = model.words["page_label"].partition("{page}")
    middle, _, after = rest.partition("{pages}")
    counter = " ".join(
        part
        for part in (
            _css_string(before) if before else "",
            "counter(page)",
            _css_string(middle) if middle else "",
            "counter(pages)",
            _css_string(after) if after else "",
        )
        if part
    )
    return (
        f"@page {{ size: {model.paper};\n"
        f"  @bottom-right {{ content: {counter}; font-size: 7pt;"
        " font-family: 'Source Sans Pro', 'Noto Sans TC'; color: #6b7785;"
        " vertical-align: top; padding-top: 3mm } }\n"
        f"@page :first {{ @bottom-right {{ content: none }} }}\n"
        f".cover {{ height: {PAGE_HEIGHT[model.paper]} }}\n"
    )


def report_css(model: ReportModel) -> str:
    return resources.files("analysis.report").joinpath("static", "report.css").read_text(
        "utf-8"
    ) + page_css(model)


def render_report(
    assessment_json: Mapping[str, Any],
    instrument: Instrument,
    *,
    comments: Iterable[Comment] = (),
    distributions: Mapping[str, Mapping[str | int, int]] | None = None,
    previous: Mapping[str, Any] | None = None,
    organisation: str = "Gapmeter",
    language: str = "en",
    paper: str = "A4",
    title: str | None = None,
    taxonomy_labels: Mapping[str, Mapping[str, str]] | None = None,
    comment_policy: CommentPolicy = DEFAULT_POLICY,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> bytes:
    """The PDF assessment report (bytes). See ``build_report_model`` for the arguments;
    ``limits`` bounds the child process that lays the PDF out."""
    warm_up()  # the render child's server imports WeasyPrint while the charts are drawn
    model = build_report_model(
        assessment_json,
        instrument,
        comments=comments,
        distributions=distributions,
        previous=previous,
        organisation=organisation,
        language=language,
        paper=paper,
        title=title,
        taxonomy_labels=taxonomy_labels,
        comment_policy=comment_policy,
    )
    return render_isolated(render_html(model), report_css(model), limits)
