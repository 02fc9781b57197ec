"""The ``gapmeter`` command end to end: every group wired to the app's real database.

The service functions behind each command have their own tests (``tests/surveys``); these
prove the commands reach them with an app context, print what a researcher needs and exit
with status 1 (not a traceback) on bad input.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.cli import ScriptInfo
from sqlalchemy import text

from surveys.db import Base, make_engine
from tests.surveys.conftest import CSV_DIR, SMALL_YAML
from tests.webapp.conftest import SECRET
from webapp import create_app
from webapp.cli import main

#: ``gapmeter(*arguments, code=0, stdin=None)``: run the command, check its exit status.
Gapmeter = Callable[..., Result]


@pytest.fixture
def gapmeter(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Gapmeter:
    """Run ``gapmeter ARGS`` against ``db_url``, emptied, its schema made by ``db upgrade``."""
    engine = make_engine(db_url)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    monkeypatch.setenv("GAPMETER_DATABASE_URL", db_url)
    monkeypatch.setenv("GAPMETER_SECRET_KEY", SECRET)
    monkeypatch.chdir(tmp_path)

    def run(*arguments: str, code: int = 0, stdin: str | None = None) -> Result:
        info = ScriptInfo(create_app=create_app)
        result = CliRunner().invoke(main, list(arguments), input=stdin, obj=info)
        if info._loaded_app is not None:  # the process would end here; a test must let go
            info._loaded_app.extensions["gapmeter.engine"].dispose()
        assert result.exit_code == code, (result.output, result.exception)
        assert "Traceback" not in result.output
        return result

    run("db", "upgrade")
    return run


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_YAML, encoding="utf-8")
    return path


def test_taxonomy_commands_edit_the_stored_terms(gapmeter: Gapmeter) -> None:
    assert "small_business" in gapmeter("segment", "list").output
    gapmeter("segment", "add", "public_sector", "Public sector")
    gapmeter("stage", "rename", "renewal", "Contract renewal")
    assert "public_sector\tPublic sector" in gapmeter("segment", "list").output
    assert "renewal\tContract renewal" in gapmeter("stage", "list").output
    refused = gapmeter("channel", "add", "Web Site", "x", code=1)
    assert refused.output.startswith("error:")


def test_instrument_commands_validate_load_list_and_show(
    gapmeter: Gapmeter, small_file: Path
) -> None:
    ok = gapmeter("instrument", "validate", str(small_file))
    assert "ok (small v1, 5 items" in ok.output
    bad = small_file.with_name("bad.yaml")
    bad.write_text(SMALL_YAML.replace("scale: sat5", "scale: sat7"), encoding="utf-8")
    refused = gapmeter("instrument", "validate", str(bad), code=1)
    assert 'bad.yaml:16: items[3].scale: unknown scale "sat7"' in refused.output

    assert "stored small v1" in gapmeter("instrument", "load", str(small_file)).output
    assert "small\tv1\tSmall survey" in gapmeter("instrument", "list").output
    shown = json.loads(gapmeter("instrument", "show", "small").output)
    assert shown["key"] == "small"
    assert [item["key"] for item in shown["items"]][:2] == ["rel_a", "emp_a"]
    assert gapmeter("instrument", "show", "nothing", code=1).output.startswith("error:")
    schema = json.loads(gapmeter("instrument", "schema").output)
    assert schema["type"] == "object"


def test_fielding_inviting_importing_and_exporting(
    gapmeter: Gapmeter, small_file: Path, tmp_path: Path
) -> None:
    gapmeter("instrument", "load", str(small_file))
    created = gapmeter(
        "campaign", "create", "--key", "spring", "--name", "Spring", "--instrument", "small:1",
        "--stage", "after_sales", "--channel", "web", "--access", "invitation",
    )  # fmt: skip
    assert "created campaign spring" in created.output
    assert "spring\topen\tsmall v1" in gapmeter("campaign", "list").output

    links = tmp_path / "links.csv"
    gapmeter("invite", "--campaign", "spring", "--count", "3", "--segment", "consumer",
             "--out", str(links))  # fmt: skip
    rows = list(csv.DictReader(links.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 3
    assert all("/i/" in row["link"] for row in rows)
    assert len({row["link"] for row in rows}) == 3
    gapmeter("invite", "--campaign", "spring", "--count", "3", "--out", str(links), code=2)

    bad = gapmeter("responses", "import", str(CSV_DIR / "small-bad-values.csv"),
                   "--campaign", "spring", code=1)  # fmt: skip
    assert "nothing imported" in bad.output
    assert "row 2" in bad.output
    valid = str(CSV_DIR / "small-valid.csv")
    assert "imported 4 responses" in gapmeter("responses", "import", valid, "--campaign",
                                               "spring").output  # fmt: skip
    again = gapmeter("responses", "import", valid, "--campaign", "spring")
    assert "imported 0 responses; 4 already present" in again.output
    assert (
        "spring\topen\tsmall v1\tafter_sales/web\t4 responses"
        in gapmeter("campaign", "list").output
    )

    exported = tmp_path / "out.csv"
    gapmeter("responses", "export", "--campaign", "spring", "--out", str(exported))
    table = list(csv.DictReader(exported.read_text(encoding="utf-8").splitlines()))
    assert [row["response_id"] for row in table] == ["s001", "s002", "s003", "s004"]

    closed = gapmeter("campaign", "close", "spring")
    assert "closed spring" in closed.output
    assert "spring\tclosed" in gapmeter("campaign", "list").output


def test_analyze_and_report_read_the_apps_database(gapmeter: Gapmeter, small_file: Path) -> None:
    gapmeter("instrument", "load", str(small_file))
    gapmeter("campaign", "create", "--key", "spring", "--name", "Spring", "--instrument", "small",
             "--stage", "after_sales", "--channel", "web")  # fmt: skip
    gapmeter("responses", "import", str(CSV_DIR / "small-valid.csv"), "--campaign", "spring")
    result = gapmeter("analyze", "--campaign", "spring", "--format", "json", "--min-cell", "2")
    assessment = json.loads(result.output)
    assert assessment["meta"]["n_responses"] == 4
    assert assessment["groups"][0]["n"] == 4
    unknown = gapmeter("analyze", "--campaign", "autumn", code=1)
    assert "autumn" in unknown.output


def test_user_commands_are_wired(gapmeter: Gapmeter) -> None:
    added = gapmeter("user", "add", "ana@example.com", "--role", "researcher")
    assert "one-time password for ana@example.com" in added.output
    assert "ana@example.com" in gapmeter("user", "list").output


def test_demo_without_serving_prints_links_and_accounts(gapmeter: Gapmeter) -> None:
    result = gapmeter("demo", "--responses", "60", "--no-serve")
    assert "60 synthetic responses" in result.output
    assert "http://127.0.0.1:5000/s/" in result.output
    assert "http://127.0.0.1:5000/i/" in result.output
    for role in ("admin", "researcher", "manager"):
        assert f"{role}@example.com" in result.output
