"""The PDF report of a dashboard scope: the request only queues a job and answers at once, the
wait page refreshes itself until the PDF is ready, the PDF is real (pypdf reads it) and shows
the scope's numbers, and a job is its owner's alone."""

from __future__ import annotations

import io
import re
import threading

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import Engine

from surveys.models import Role
from tests.webapp.test_auth_support import csrf_token
from tests.webapp.test_insights_support import INSTRUMENT, direct, signed_in
from webapp.insights.jobs import EXTENSION, ReportJobs

WAIT = 180  # seconds a test waits for a render before failing


def jobs(app: Flask) -> ReportJobs:
    found: ReportJobs = app.extensions[EXTENSION]
    return found


def start(client: FlaskClient, **scope: str | list[str]) -> str:
    """Post the dashboard's report form; the job id from the redirect."""
    data = {"csrf_token": csrf_token(client, "/insights/targets"), **scope}
    reply = client.post("/insights/reports", data=data)
    assert reply.status_code == 303, reply.get_data(as_text=True)[:500]
    location = reply.headers["Location"]
    assert location.startswith("/insights/reports/")
    return location.rsplit("/", 1)[1]


def test_the_pdf_of_a_scope_is_real_and_shows_its_numbers(
    app: Flask, manager: FlaskClient, demo: Engine
) -> None:
    dashboard = manager.get(f"/insights/?instrument={INSTRUMENT}:1&segment=enterprise")
    form = re.search(
        r'<form method="post" action="/insights/reports".*?</form>',
        dashboard.get_data(as_text=True),
        flags=re.S,
    )
    assert form is not None
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group()))
    assert hidden["instrument"] == f"{INSTRUMENT}:1"
    assert hidden["segment"] == "enterprise"

    job_id = start(manager, instrument=f"{INSTRUMENT}:1", segment="enterprise")
    state = jobs(app).wait(job_id, WAIT)
    assert state is not None
    assert state.state == "done", state.error
    wait_page = manager.get(f"/insights/reports/{job_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in wait_page
    assert f'href="/insights/reports/{job_id}/pdf"' in wait_page

    reply = manager.get(f"/insights/reports/{job_id}/pdf")
    assert reply.status_code == 200
    assert reply.mimetype == "application/pdf"
    assert "attachment" in reply.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(reply.data))
    assert len(reader.pages) >= 5
    text = " ".join(page.extract_text() for page in reader.pages)
    expected = direct(demo, segments=("enterprise",))
    assert expected.whole is not None
    assert f"n = {expected.whole.n:,}" in text
    assert "Enterprise" in text  # the cover names the filter
    assert "Answer distributions were not supplied" not in text  # the scope's own counts


def test_the_wait_page_refreshes_itself_until_the_pdf_is_ready(
    app: Flask, manager: FlaskClient
) -> None:
    """A job held back by the test: while it runs the page refreshes itself (no script)."""
    release = threading.Event()

    def render() -> bytes:
        release.wait(WAIT)
        return b"%PDF-1.7 held back"

    job = jobs(app).submit(owner=_user_id(manager), query="", filename="r.pdf", work=render)
    pending = manager.get(f"/insights/reports/{job.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in pending
    assert "<script" not in pending
    assert manager.get(f"/insights/reports/{job.id}/pdf").status_code == 303
    release.set()
    assert jobs(app).wait(job.id, WAIT).state == "done"  # type: ignore[union-attr]
    ready = manager.get(f"/insights/reports/{job.id}").get_data(as_text=True)
    assert "http-equiv" not in ready
    assert manager.get(f"/insights/reports/{job.id}/pdf").data == b"%PDF-1.7 held back"


def test_a_failed_render_says_why(app: Flask, manager: FlaskClient) -> None:
    job_id = start(
        manager, instrument=f"{INSTRUMENT}:1", **{"from": "2026-03-01", "to": "2026-03-01"}
    )
    state = jobs(app).wait(job_id, WAIT)
    assert state is not None
    assert state.state == "failed"
    reply = manager.get(f"/insights/reports/{job_id}")
    assert "nothing to report" in reply.get_data(as_text=True)


def test_a_job_is_its_owners_alone(app: Flask, manager: FlaskClient, demo: Engine) -> None:
    job = jobs(app).submit(
        owner=_user_id(manager), query="", filename="r.pdf", work=lambda: b"%PDF-"
    )
    jobs(app).wait(job.id, WAIT)
    other = signed_in(app, demo, Role.MANAGER)
    assert other.get(f"/insights/reports/{job.id}").status_code == 404
    assert other.get(f"/insights/reports/{job.id}/pdf").status_code == 404
    assert signed_in(app, demo, Role.ADMIN).get(f"/insights/reports/{job.id}").status_code == 200
    researcher = signed_in(app, demo, Role.RESEARCHER)
    assert researcher.get(f"/insights/reports/{job.id}").status_code == 403
    assert manager.get("/insights/reports/not-a-job-id").status_code == 404


def test_a_report_needs_a_valid_scope(app: Flask, manager: FlaskClient) -> None:
    token = csrf_token(manager, "/insights/targets")
    reply = manager.post("/insights/reports", data={"csrf_token": token})
    assert reply.status_code == 303
    assert reply.headers["Location"] == "/insights/"
    reply = manager.post(
        "/insights/reports",
        data={"csrf_token": token, "instrument": f"{INSTRUMENT}:1", "segment": "x"},
    )
    assert reply.headers["Location"] == "/insights/"
    assert "not a known segment" in manager.get("/insights/").get_data(as_text=True)
    assert list(jobs(app).folder.glob("*.json")) == []  # no job was queued


def _user_id(client: FlaskClient) -> int:
    with client.session_transaction() as session:
        return int(str(session["_user_id"]).split(":")[0])
