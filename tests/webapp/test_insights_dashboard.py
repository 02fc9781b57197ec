"""The managers' dashboard on real data (the demo generator), on SQLite and PostgreSQL: what it
shows agrees with the assessment computed directly, filters change it, suppressed cells say so,
comments are escaped, and only managers (and admins) get in."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from analysis.assessment import Assessment
from analysis.report.voice import Voice
from analysis.store import instrument_of_version
from surveys.answers import parse_answers
from surveys.db import read_session
from surveys.instrument import Measure
from surveys.models import Role
from surveys.services.responses import submit_response
from tests.webapp.test_insights_support import (
    INSTRUMENT,
    direct,
    page,
    section,
    signed_in,
    table_rows,
    version_id,
)
from webapp.insights.params import taxonomy_labels
from webapp.security import CONTENT_SECURITY_POLICY

URL = f"/insights/?instrument={INSTRUMENT}:1"


def voice_of(engine: Engine) -> Voice:
    """The report's words and number formats, with the organisation's taxonomy labels."""
    with read_session(engine) as session:
        labels = taxonomy_labels(session)
    return Voice(instrument_of_version(engine, version_id(engine)), taxonomy=labels)


def dimension_rows(html: str) -> dict[str, list[str]]:
    return table_rows(section(html, "gaps"))


def expected_dimensions(engine: Engine, assessment: Assessment) -> dict[str, list[str]]:
    """The gap table as the page must print it, from the direct assessment."""
    voice = voice_of(engine)
    whole = assessment.whole
    assert whole is not None
    return {
        voice.dimension(row.dimension): [
            voice.count(row.n),
            voice.num(row.expectation_mean),
            voice.num(row.perception_mean),
            voice.signed(row.gap.mean),
            voice.ci(row.gap.ci_low, row.gap.ci_high),
            voice.p_cell(row.p_adjusted),
        ]
        for row in whole.dimensions
    }


def test_the_dashboard_shows_the_assessment_of_the_scope(
    manager: FlaskClient, demo: Engine
) -> None:
    reply = manager.get(URL)
    assert reply.status_code == 200
    assert reply.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert reply.headers["Cache-Control"] == "no-store"
    html = reply.get_data(as_text=True)
    assert "<script" not in html
    assert "style=" not in html  # the CSP allows no inline style; the SVGs use attributes
    assessment = direct(demo)
    whole = assessment.whole
    assert whole is not None
    assert whole.n > 100
    assert f"n = {whole.n:,}" in html
    shown = dimension_rows(html)
    for label, cells in expected_dimensions(demo, assessment).items():
        assert shown[label][:6] == cells, label
    # The charts are the PDF's own SVGs (drawn by analysis.charts for the report model).
    for key in ("dimension-means", "item-gaps", "heatmap", "trend-dimensions"):
        assert f'aria-label="{key}"' in html, key
    csat = whole.scores["csat_top2"]
    assert f"{csat.value * 100:.1f}%" in section(html, "headline")
    targets = table_rows(section(html, "targets"))
    assert len(targets) == len(assessment.targets) == 2


def test_every_number_links_to_its_method_note(manager: FlaskClient) -> None:
    html = page(manager, URL)
    anchors = set(re.findall(r'href="/insights/methods#(m-[a-z_0-9]+)"', html))
    assert {"m-gap", "m-heatmap", "m-trends", "m-targets", "m-priorities", "m-comments"} <= anchors
    notes = page(manager, "/insights/methods")
    for anchor in anchors:
        assert f'id="{anchor}"' in notes, anchor


def test_filters_change_the_numbers(manager: FlaskClient, demo: Engine) -> None:
    everyone = dimension_rows(page(manager, URL))
    filters = {"segments": ("enterprise",), "channels": ("web", "email")}
    html = page(manager, URL + "&segment=enterprise&channel=web&channel=email")
    narrowed = direct(demo, **filters)
    assert narrowed.whole is not None
    assert f"n = {narrowed.whole.n:,}" in html
    shown = dimension_rows(html)
    expected = expected_dimensions(demo, narrowed)
    for label, cells in expected.items():
        assert shown[label][:6] == cells, label
    assert shown != everyone
    # The chosen values stay chosen in the form, so the page can be bookmarked and refined.
    assert re.search(r'<option value="enterprise" selected>', html)
    assert re.search(r'<option value="email" selected>', html)


def test_a_date_range_is_applied_by_the_day(manager: FlaskClient, demo: Engine) -> None:
    html = page(manager, URL + "&from=2025-09-10&to=2026-02-20")
    ranged = direct(
        demo,
        date_from=datetime(2025, 9, 10, tzinfo=UTC).date(),
        date_to=datetime(2026, 2, 20, tzinfo=UTC).date(),
    )
    everyone = direct(demo)
    assert ranged.whole is not None
    assert everyone.whole is not None
    assert 0 < ranged.whole.n < everyone.whole.n
    assert f"n = {ranged.whole.n:,}" in html
    for label, cells in expected_dimensions(demo, ranged).items():
        assert dimension_rows(html)[label][:6] == cells


def test_suppressed_groups_say_so_and_show_no_number(manager: FlaskClient, demo: Engine) -> None:
    """One month of one channel: most segment x stage groups are below the minimum size."""
    html = page(manager, URL + "&from=2026-03-01&to=2026-03-31&channel=web")
    assessment = direct(
        demo,
        date_from=datetime(2026, 3, 1).date(),
        date_to=datetime(2026, 3, 31).date(),
        channels=("web",),
    )
    hidden = [
        row.group
        for row in assessment.suppressed
        if len(row.group) == 2 and row.item is None and row.dimension is None
    ]
    assert hidden, "the scope should suppress some groups"
    voice = voice_of(demo)
    rows = table_rows(section(html, "heatmap"))
    for group in {tuple(g) for g in hidden}:
        cells = rows[voice.group(dict(group))]
        assert set(cells) == {"suppressed"}, (group, cells)
    shown = [g for g in assessment.groups if g.group]
    for group in shown:
        assert rows[voice.group(dict(group.group))][0] == voice.count(group.n)
    # Every row of the table is one segment x stage group, shown or suppressed.
    assert len(rows) == len({tuple(g) for g in hidden}) + len(shown)


def submit_hostile(engine: Engine, hostile: str) -> None:
    """One response with the largest shortfall on every item and ``hostile`` as its comment."""
    instrument = instrument_of_version(engine, version_id(engine))
    raw = {}
    for slot in instrument.slots():
        raw[slot.name] = {
            Measure.EXPECTATION: "7",
            Measure.PERCEPTION: "1",
            Measure.IMPORTANCE: "20",
            Measure.RATING: "1",
            Measure.TEXT: hostile,
        }.get(slot.measure, "")
    raw = {name: value for name, value in raw.items() if value}
    submit_response(
        engine,
        campaign_key="sq-onboarding-consumer-web",
        answers=parse_answers(instrument, raw, require_complete=False),
        source="web",
    )


def test_the_weakest_areas_comments_are_shown_escaped(manager: FlaskClient, demo: Engine) -> None:
    before = direct(demo).whole
    assert before is not None
    assert f"n = {before.n:,}" in page(manager, URL)  # and this dashboard is now cached
    submit_hostile(demo, '<script>alert("x")</script> & <b>bold</b>')
    html = page(manager, URL)
    assert f"n = {before.n + 1:,}" in html  # a new response is never hidden by the cache
    html = section(html, "comments")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script" not in html
    assert "<b>" not in html
    assert html.count("<blockquote>") >= 2


def test_wrong_parameters_are_reported_not_guessed(manager: FlaskClient) -> None:
    html = page(manager, "/insights/?instrument=nope:1", 400)
    assert "there is no instrument" in html
    html = page(manager, URL + "&from=2026-13-01&segment=martians", 400)
    assert "is not a date" in html
    assert "&#39;martians&#39; is not a known segment" in html
    assert "Headline scores" not in html


def test_a_scope_below_the_minimum_size_shows_nothing(manager: FlaskClient) -> None:
    html = page(manager, URL + "&from=2026-03-01&to=2026-03-01&segment=enterprise")
    assert "Fewer than 5 respondents in this scope" in html
    assert "Headline scores" not in html


def test_only_managers_and_admins_see_insights(app: Flask, demo: Engine) -> None:
    assert app.test_client().get(URL).status_code == 303
    researcher = signed_in(app, demo, Role.RESEARCHER)
    assert researcher.get(URL).status_code == 403
    assert researcher.get("/insights/targets").status_code == 403
    admin = signed_in(app, demo, Role.ADMIN)
    assert admin.get(URL).status_code == 200
