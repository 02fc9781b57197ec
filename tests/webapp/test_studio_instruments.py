"""Studio instruments: list, upload (every problem with its line and field, nothing stored on a
problem), immutable answered versions, the preview in each language and the diff of versions
(SQLite and PostgreSQL, through the test client)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from surveys.db import read_session
from surveys.instrument_loader import MAX_BYTES
from surveys.models import InstrumentVersion
from surveys.services import instruments
from tests.webapp.conftest import MIXED_YAML, add_campaign, make_app, mixed_instrument
from tests.webapp.test_auth_support import csrf_token
from tests.webapp.test_studio_support import (
    post_form,
    random_records,
    signed_in,
    table_bytes,
    text_of,
    upload,
)

GOOD = MIXED_YAML.replace('"ITEM_A_TEXT"', "Keeps its promises")


def stored_versions(engine: Engine) -> list[tuple[str, int]]:
    with read_session(engine) as session:
        rows = session.execute(
            select(InstrumentVersion.key, InstrumentVersion.version).order_by(
                InstrumentVersion.key, InstrumentVersion.version
            )
        ).all()
        return [(key, version) for key, version in rows]


def send(client, content: str | bytes, action: str = "store", name: str = "mixed.yaml"):
    return post_form(
        client,
        "/studio/instruments",
        "/studio/instruments",
        {"file": upload(content, name), "action": action},
    )


def test_the_instrument_pages_render_for_a_researcher(app: Flask, app_engine: Engine) -> None:
    add_campaign(app_engine, mixed_instrument(), "spring")
    client = signed_in(app, app_engine)
    for url in (
        "/studio/",
        "/studio/instruments",
        "/studio/instruments/mixed/1",
        "/studio/instruments/mixed/1/preview",
        "/studio/instruments/mixed/diff",
        "/studio/instruments/mixed/1/reliability",
    ):
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert reply.headers["Cache-Control"] == "no-store"
        page = reply.get_data(as_text=True)
        assert 'class="staff-page studio"' in page
        assert "style=" not in page  # the CSP allows no inline styles
    assert "Keeps its promises" in text_of(client.get("/studio/instruments/mixed/1"))
    assert client.get("/studio/instruments/mixed/9").status_code == 404


def test_a_valid_file_is_checked_and_then_stored(app: Flask, app_engine: Engine) -> None:
    client = signed_in(app, app_engine)
    checked = send(client, GOOD, action="check")
    assert checked.status_code == 200
    assert "The file is valid" in text_of(checked)
    assert stored_versions(app_engine) == []  # checking stores nothing
    stored = send(client, GOOD)
    assert stored.status_code == 303
    assert stored.headers["Location"] == "/studio/instruments/mixed/1"
    assert stored_versions(app_engine) == [("mixed", 1)]
    with read_session(app_engine) as session:
        row = instruments.get_instrument(session, "mixed", 1)
        assert row is not None
        assert row.source == GOOD
        assert row.content_hash == mixed_instrument().content_hash
    assert "Stored mixed version 1" in text_of(client.get(stored.headers["Location"]))


def test_every_problem_is_shown_with_its_line_and_field(app: Flask, app_engine: Engine) -> None:
    client = signed_in(app, app_engine)
    broken = GOOD.replace("scale: agree7\n  - key: emp_a", "scale: agree9\n  - key: emp_a").replace(
        "measures: [nps]", "measures: [nps, wishes]"
    )
    reply = send(client, broken)
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    rows = [
        " ".join(row.split())
        for row in page.split('<table class="problems">')[1].split("</table>")[0].split("<tr>")[2:]
    ]
    assert len(rows) >= 2
    lines = {number + 1 for number, line in enumerate(broken.splitlines()) if "agree9" in line}
    assert any(
        f'<td class="num">{line}</td>' in row and "scale" in row for row in rows for line in lines
    )
    assert any("wishes" in row for row in rows)
    assert stored_versions(app_engine) == []


def test_hostile_files_are_refused_as_text_and_store_nothing(
    app: Flask, app_engine: Engine
) -> None:
    """S2/S5: a payload in an error is shown escaped; tags, aliases and oversize are refused."""
    client = signed_in(app, app_engine)
    payload = GOOD.replace("key: mixed", "key: '<script>alert(1)</script>'")
    reply = send(client, payload)
    assert reply.status_code == 422
    assert "<script>alert(1)" not in reply.get_data(as_text=True)
    assert "&lt;script&gt;" in reply.get_data(as_text=True)
    tagged = "key: !!python/object/apply:os.system ['touch /tmp/canary']\n"
    assert send(client, tagged).status_code == 422
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert "anchor" in text_of(send(client, bomb))
    assert send(client, b"\xff\xfe not utf-8").status_code == 422
    assert stored_versions(app_engine) == []


def test_a_file_over_the_cap_is_refused_unparsed(db_url: str, tmp_path: Path) -> None:
    """The instrument cap applies even when the request limit would let a larger file in."""
    app = make_app(db_url, tmp_path, MAX_CONTENT_LENGTH=4 * MAX_BYTES)
    engine = app.extensions["gapmeter.engine"]
    try:
        client = signed_in(app, engine)
        big = FileStorage(io.BytesIO(b"# " + b"x" * MAX_BYTES + b"\n"), filename="big.yaml")
        fields = {"csrf_token": csrf_token(client, "/studio/instruments"), "file": big}
        # Encoded in memory: the test client's own spooling would leave a temporary file open.
        boundary, body = encode_multipart(fields)
        reply = client.post(
            "/studio/instruments",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert reply.status_code == 422
        assert "files are limited to 1,048,576 bytes" in text_of(reply)
        assert stored_versions(engine) == []
    finally:
        engine.dispose()


def test_an_answered_version_cannot_change(app: Flask, app_engine: Engine) -> None:
    instrument = mixed_instrument()
    key = add_campaign(app_engine, instrument, "spring")
    client = signed_in(app, app_engine)
    records = random_records(instrument, 3)
    page = f"/studio/campaigns/{key}"
    imported = post_form(
        client,
        page,
        f"{page}/import",
        {"responses": upload(table_bytes(instrument, records), "r.csv")},
    )
    assert imported.status_code == 303
    changed = GOOD.replace("Treats you as a person", "Treats you kindly")
    reply = send(client, changed)
    assert reply.status_code == 409
    assert "already has responses" in text_of(reply)
    assert "version: 2" in text_of(reply)
    with read_session(app_engine) as session:
        row = instruments.get_instrument(session, "mixed", 1)
        assert row is not None
        assert row.content_hash == instrument.content_hash
    assert send(client, changed.replace("version: 1", "version: 2")).status_code == 303
    assert stored_versions(app_engine) == [("mixed", 1), ("mixed", 2)]


def test_the_preview_shows_every_page_in_each_language_and_submits_nothing(
    app: Flask, app_engine: Engine
) -> None:
    add_campaign(app_engine, mixed_instrument(), "spring")
    client = signed_in(app, app_engine)
    english = client.get("/studio/instruments/mixed/1/preview?lang=en").get_data(as_text=True)
    chinese = client.get("/studio/instruments/mixed/1/preview?lang=zh-Hant").get_data(as_text=True)
    assert "Treats you as a person" in english
    assert "Strongly disagree" in english
    assert "把您當作一個人" in chinese
    assert "非常不同意" in chinese
    assert "Treats you as a person" not in chinese
    for page in (english, chinese):
        assert "<form" not in page.split('<div class="preview"')[1]  # nothing to submit
        assert (
            page.count('<fieldset class="preview-controls" disabled>') == 3
        )  # 2 pages + allocation
        assert 'name="rel_a__expectation"' in page
        assert 'name="comment"' in page
    assert client.get("/studio/instruments/mixed/1/preview?lang=xx").status_code == 200


def test_the_diff_names_items_added_removed_and_changed(app: Flask, app_engine: Engine) -> None:
    client = signed_in(app, app_engine)
    assert send(client, GOOD).status_code == 303
    second = (
        GOOD.replace("version: 1", "version: 2")
        .replace("Treats you as a person", "Treats you kindly")
        .replace(
            "  - key: recommend\n"
            "    text: {en: Would you recommend us?, zh-Hant: 您會推薦我們嗎？}\n"
            "    measures: [nps]\n",
            "",
        )
        .replace(
            "items: [overall, recommend, visit, comment]",
            "items: [overall, visit, comment, effort]",
        )
        .replace(
            "importance: {",
            "  - {key: effort, text: {en: Was it easy?, zh-Hant: 容易嗎？},"
            " measures: [rating], scale: sat5}\nimportance: {",
        )
    )
    assert send(client, second).status_code == 303, text_of(send(client, second, "check"))
    reply = client.get("/studio/instruments/mixed/diff?from=1&to=2")
    assert reply.status_code == 200
    items = reply.get_data(as_text=True).split('id="part-items"')[1].split("</section>")[0]
    assert '<code class="added">effort</code>' in items
    assert '<code class="removed">recommend</code>' in items
    assert "Changed: <code>emp_a</code>" in items
    assert "<code>text.en</code>" in items
    assert "Treats you kindly" in items
    assert "rel_a" not in items  # unchanged items are not listed
    same = client.get("/studio/instruments/mixed/diff?from=2&to=2")
    assert "definitions are identical" in text_of(same)
    assert client.get("/studio/instruments/mixed/diff?from=1&to=7").status_code == 404


@pytest.mark.parametrize("role", ["manager", None])
def test_instrument_pages_refuse_other_roles(
    app: Flask, app_engine: Engine, role: str | None
) -> None:
    client = signed_in(app, app_engine, role) if role else app.test_client()
    for url in ("/studio/", "/studio/instruments", "/studio/instruments/mixed/1/preview"):
        reply = client.get(url)
        if role:
            assert reply.status_code == 403, url
        else:
            assert reply.status_code == 303
            assert reply.headers["Location"].startswith("/login")
    if role:
        reply = post_form(
            client, "/account", "/studio/instruments", {"file": upload(GOOD, "m.yaml")}
        )
        assert reply.status_code == 403
    with read_session(app_engine) as session:
        assert session.scalar(select(func.count()).select_from(InstrumentVersion)) == 0


def test_the_preview_prints_instrument_text_as_text(app: Flask, app_engine: Engine) -> None:
    """S1/S4: markup and template syntax in a question are shown literally."""
    hostile = "<script>alert(1)</script> {{ 7*7 }} {% raw %}"
    add_campaign(app_engine, mixed_instrument(hostile), "spring")
    client = signed_in(app, app_engine)
    for url in ("/studio/instruments/mixed/1/preview", "/studio/instruments/mixed/1"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %}" in page, url
