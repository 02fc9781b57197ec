"""Untrusted text in the PDF (security.md §1.2, T10, T11, S4, S7, S8, P3): hostile comments and
instrument texts come out as text, fetch nothing, embed nothing, leak nothing; a render that runs
away is stopped."""

from __future__ import annotations

import dataclasses
import http.server
import io
import multiprocessing
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pypdf import PdfReader

from analysis.report import RenderFailedError, RenderLimits, RenderTimeoutError
from analysis.report.comments import Comment, CommentPolicy
from analysis.report.fetcher import PACKAGED_ASSETS, PackagedAssetsOnly
from analysis.report.model import build_report_model
from analysis.report.pdf import html_to_pdf
from analysis.report.render import render_html, render_report, report_css
from analysis.report.sandbox import render_isolated
from surveys.instrument import Instrument
from tests.report.conftest import weasyprint_records


class Canary(http.server.BaseHTTPRequestHandler):
    """Counts every request; /redirect answers 302 to /landed on the same server."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Canary.requests.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/landed")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { background: red }")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def canary() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Canary.requests.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


CANARY = "CANARY-7f3a9c-must-never-reach-the-pdf"


@pytest.fixture(scope="module")
def canary_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("canary") / "canary.css"
    path.write_text(f"/* {CANARY} */ body {{ background: red }}", encoding="utf-8")
    return path


def payloads(base: str, canary: Path | None = None) -> list[str]:
    local = canary.as_uri() if canary else "file:///etc/hostname"
    return [
        f'<img src="file:///etc/passwd"><img src="{local}">',
        f'<img src="{base}/img.png"> see <a href="{base}/link">our site</a>',
        f'<link rel="attachment" href="{local}"><link rel=stylesheet href="{base}/s.css">',
        f"<style>@import url({base}/import.css); body {{ background: url(http://169.254.169.254/) }}</style>",  # noqa: E501
        f'<object data="{base}/object"></object><iframe src="{base}/frame"></iframe>',
        f'<img src="{base}/redirect"> {{{{ 7*7 }}}} {{% for x in y %}}',
        '<svg><image href="file:///etc/passwd"/></svg><script>alert(1)</script>',
    ]


def hostile_comments(base: str, canary: Path | None = None) -> list[Comment]:
    """Each payload from a respondent with the most negative gap in a big enough group."""
    group = {"segment": "consumer", "stage": "pre_sales"}
    return [
        Comment(text, {"empathy": -6.0 + i / 10, "responsiveness": -6.0 + i / 10}, group, f"h{i}")
        for i, text in enumerate(payloads(base, canary))
    ]


def hostile_instrument(instrument: Instrument) -> Instrument:
    """The reference instrument with template syntax and markup in an item's text."""
    items = tuple(
        dataclasses.replace(item, text=type(item.text).of("{{ 7*7 }} <b>bold</b> {{ config }}"))
        if item.key == "rel_1"
        else item
        for item in instrument.items
    )
    return dataclasses.replace(instrument, items=items)


class Recording(PackagedAssetsOnly):
    """The production fetcher, recording every URL WeasyPrint asks for (fatal mode: refusals
    raise ``FatalURLFetchingError`` and stop the render)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        self.urls.append(url)
        return super().fetch(url, headers)


def allowed(url: str) -> bool:
    return url.removeprefix("asset:") in PACKAGED_ASSETS or url.startswith(
        "data:image/svg+xml;base64,"
    )


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


@pytest.fixture(scope="module")
def hostile_report(canary, canary_file, instrument, assessment_by_segment_stage) -> dict[str, Any]:
    model = build_report_model(
        assessment_by_segment_stage,
        hostile_instrument(instrument),
        comments=hostile_comments(canary, canary_file),
        comment_policy=CommentPolicy(per_area=4),  # room for all 7 payloads
    )
    fetcher = Recording()
    html = render_html(model)
    with weasyprint_records() as messages:
        pdf = html_to_pdf(html, report_css(model), fetcher)
    return {"html": html, "pdf": pdf, "urls": fetcher.urls, "text": text_of(pdf), "logs": messages}


def test_hostile_text_causes_no_weasyprint_warning(hostile_report) -> None:
    assert hostile_report["logs"] == []


def test_weasyprint_fetches_only_allow_listed_assets(hostile_report) -> None:
    urls = hostile_report["urls"]
    assert urls, "the fonts at least are fetched through the fetcher"
    assert [u[:80] for u in urls if not allowed(u)] == []


def test_the_outside_server_receives_no_request(hostile_report) -> None:
    assert Canary.requests == []


def test_the_pdf_embeds_no_file(hostile_report) -> None:
    """`<link rel=attachment>` to a readable local file: not attached, not read."""
    assert CANARY not in hostile_report["text"]
    assert CANARY.encode() not in hostile_report["pdf"]
    reader = PdfReader(io.BytesIO(hostile_report["pdf"]))
    assert reader.attachments == {}
    assert b"/EmbeddedFile" not in hostile_report["pdf"]
    assert b"/Launch" not in hostile_report["pdf"]
    assert b"/URI" not in hostile_report["pdf"]


def test_payloads_are_printed_as_literal_text(hostile_report, canary) -> None:
    text = hostile_report["text"]
    assert '<img src="file:///etc/passwd">' in text
    assert f'<object data="{canary}/object"></object>' in text
    assert f'see <a href="{canary}/link">our site</a>' in text  # an outside link: text, no /URI
    assert "<script>alert(1)</script>" in text
    assert "root:x:0:0" not in text


def test_markup_in_data_is_escaped_in_the_html(hostile_report) -> None:
    html = hostile_report["html"]
    assert '<img src="file:///etc/passwd">' not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "<script>" not in html
    assert "<iframe" not in html
    assert "<object" not in html


def test_instrument_text_is_never_compiled_as_a_template(hostile_report) -> None:
    """security.md S4: {{ 7*7 }} stays literal; no template evaluation, no config."""
    text = hostile_report["text"]
    assert "{{ 7*7 }} <b>bold</b> {{ config }}" in text
    assert "49 <b>bold</b>" not in text


@pytest.mark.usefixtures("no_weasyprint_logs")
def test_the_isolated_renderer_fetches_nothing_either(canary, instrument, assessment_by_segment):
    pdf = render_report(assessment_by_segment, instrument, comments=hostile_comments(canary))
    assert Canary.requests == []
    assert '<img src="file:///etc/passwd">' in text_of(pdf)


@pytest.mark.usefixtures("no_weasyprint_logs")
def test_comments_of_a_too_small_group_are_omitted_and_said_to_be(
    instrument, assessment_by_segment_stage
) -> None:
    """security.md P3: enterprise · purchase has 16 respondents (< k = 20 here)."""
    secret = "SECRET-ENTERPRISE-PURCHASE-COMMENT"
    comments = [
        Comment(secret, {"empathy": -6.0}, {"segment": "enterprise", "stage": "purchase"}, "s1"),
        Comment("a shown comment", {"empathy": -5.0},
                {"segment": "consumer", "stage": "pre_sales"}, "s2"),
    ]  # fmt: skip
    pdf = render_report(
        assessment_by_segment_stage,
        instrument,
        comments=comments,
        comment_policy=CommentPolicy(min_comment_group=20),
    )
    text = text_of(pdf)
    assert "a shown comment" in text
    assert secret not in text
    assert secret.encode() not in pdf
    assert (
        "Comments from 1 respondent(s) in groups with fewer than 20 respondents are withheld"
        in (text)
    )
    metadata = PdfReader(io.BytesIO(pdf)).metadata or {}
    assert not any(secret in str(value) for value in metadata.values())


@pytest.mark.usefixtures("no_weasyprint_logs")
def test_many_and_pathological_comments_are_capped(instrument, assessment_by_segment) -> None:
    """10,000 comments and a 100 kB word followed by non-breaking spaces (WeasyPrint #614's
    shape) still give a report with at most 3 comments per area, each capped."""
    group = {"segment": "consumer"}
    long_word = "x" * 100_000 + "\u00a0" * 5_000
    comments = [Comment(long_word, {"empathy": -9.0}, group, "long")] + [
        Comment(f"comment {i}", {"empathy": -1.0, "responsiveness": -1.0}, group, f"c{i:05d}")
        for i in range(10_000)
    ]
    pdf = render_report(assessment_by_segment, instrument, comments=comments)
    text = text_of(pdf)
    assert len(re.findall(r"comment \d+", text)) <= 5
    joined = text.replace(" ", "")
    assert "x" * 550 in joined
    assert "x" * 600 not in joined


def test_a_render_past_its_wall_clock_limit_is_killed() -> None:
    html = "<p>" + " word" * 400_000 + "</p>"
    with pytest.raises(RenderTimeoutError, match=r"longer than 0\.5 s"):
        render_isolated(html, "", RenderLimits(wall_seconds=0.5))
    assert multiprocessing.active_children() == []


def test_a_render_past_its_memory_limit_fails_with_a_message() -> None:
    html = "<p>" + " word" * 50_000 + "</p>"
    with pytest.raises(RenderFailedError):
        render_isolated(html, "", RenderLimits(memory_bytes=64 * 1024**2))
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_pathological_text_given_raw_to_the_renderer_is_contained() -> None:
    """security.md S8 (nightly): #614's shape and 10 MB of text, uncapped, straight to the render
    child: each run ends (a PDF, or a failure with a message) within its wall-clock limit plus the
    kill, and no child process is left behind."""
    import time

    shapes = [
        "<p>" + "x" * 100_000 + "\u00a0" * 20_000 + "</p>",
        "<p>" + ("ten megabytes of text " * 480_000) + "</p>",
    ]
    limits = RenderLimits(wall_seconds=10, cpu_seconds=10, memory_bytes=1024**3)
    for _ in range(5):
        for html in shapes:
            started = time.monotonic()
            message = None
            try:
                render_isolated(html, "", limits)
            except RenderFailedError as error:
                message = str(error)
            assert time.monotonic() - started < limits.wall_seconds + 5
            assert message is None or "report render" in message
            assert multiprocessing.active_children() == []
