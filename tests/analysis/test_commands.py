"""``gapmeter analyze`` end to end on the reference data (click's test runner)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis import commands
from analysis.commands import CellSource, analyze, csv_source, register_campaign_source
from tests.analysis.conftest import DATA

INSTRUMENT = DATA / "instruments" / "servqual-240.yaml"


@pytest.fixture
def responses(reference_dir: Path) -> Path:
    return reference_dir / "servqual-240" / "responses.csv"


def run(*arguments: str):
    return CliRunner().invoke(analyze, list(arguments), catch_exceptions=False)


def test_json_contract_with_provenance(responses: Path) -> None:
    result = run(
        "--data",
        str(responses),
        "--instrument",
        str(INSTRUMENT),
        "--by",
        "segment",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    digest = hashlib.sha256(responses.read_bytes()).hexdigest()
    assert document["meta"]["data_hash"] == f"sha256:{digest}"
    assert document["meta"]["by"] == ["segment"]
    assert document["meta"]["filters"] == {"data": "responses.csv"}
    assert [g["group"].get("segment") for g in document["groups"]] == [
        None,
        "consumer",
        "enterprise",
        "small_business",
    ]
    assert document["groups"][0]["scores"]["nps"]["value"] == pytest.approx(-18.942731277533)


def test_text_summary_to_a_file(responses: Path, tmp_path: Path) -> None:
    out = tmp_path / "summary.txt"
    result = run(
        "--data",
        str(responses),
        "--instrument",
        str(INSTRUMENT),
        "--by",
        "segment,period",
        "--period",
        "quarter",
        "--correction",
        "fdr_bh",
        "--alpha",
        "0.1",
        "--min-cell",
        "10",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    text = out.read_text("utf-8")
    assert "== all respondents (n = 240) ==" in text
    assert "segment=consumer, period=2026-Q1" in text
    assert "90% intervals" in text
    assert "fdr_bh" in text
    assert "Comparisons of dimension gaps" in text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--by", "segment"], "give either --data"),
        (["--data", "{csv}"], "--data needs --instrument"),
        (
            ["--data", "{csv}", "--instrument", str(INSTRUMENT), "--by", "region"],
            "region is not a breakdown",
        ),
        (["--campaign", "spring"], "no campaign source"),
        (["--data", "{csv}", "--instrument", str(INSTRUMENT), "--correction", "x"], "'x'"),
    ],
)
def test_usage_errors(responses: Path, arguments: list[str], message: str, monkeypatch) -> None:
    monkeypatch.setattr(commands, "_campaign_sources", [])
    result = run(*[a.replace("{csv}", str(responses)) for a in arguments])
    assert result.exit_code == 2
    assert message in result.output


def test_bad_rows_are_reported_with_their_place(tmp_path: Path, responses: Path) -> None:
    lines = responses.read_text("utf-8").splitlines()
    lines[3] = lines[3].replace("2026-", "20x6-", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    result = run("--data", str(bad), "--instrument", str(INSTRUMENT))
    assert result.exit_code == 1
    assert "row 4" in result.output


def test_a_registered_campaign_source_serves_campaign(responses: Path, monkeypatch) -> None:
    """The database layer plugs in through ``register_campaign_source``."""
    monkeypatch.setattr(commands, "_campaign_sources", [])
    seen: list[tuple[str, ...]] = []

    def source(keys: tuple[str, ...], instrument: Path | None) -> CellSource:
        seen.append(keys)
        loaded = csv_source(responses, INSTRUMENT)
        return CellSource(loaded.cells, loaded.instrument, "db:42", {"campaigns": list(keys)})

    register_campaign_source(source)
    result = run("--campaign", "spring", "--campaign", "autumn", "--format", "json")
    assert result.exit_code == 0, result.output
    assert seen == [("spring", "autumn")]
    meta = json.loads(result.output)["meta"]
    assert (meta["data_hash"], meta["filters"]) == ("db:42", {"campaigns": ["spring", "autumn"]})


def test_options_reach_the_json(responses: Path) -> None:
    """--min-cell, --alpha, --correction and --by are in meta and act: with a minimum of 75 the
    segment of 74 respondents is suppressed; 90% intervals are narrower than 95% ones."""
    base = ["--data", str(responses), "--instrument", str(INSTRUMENT), "--format", "json"]
    wide = json.loads(run(*base, "--by", "segment,stage").output)
    narrow = json.loads(
        run(
            *base,
            "--by",
            "segment",
            "--min-cell",
            "75",
            "--alpha",
            "0.1",
            "--correction",
            "fdr_bh",
        ).output
    )
    meta = narrow["meta"]
    assert (meta["by"], meta["min_cell"], meta["alpha"], meta["correction"]) == (
        ["segment"],
        75,
        0.1,
        "fdr_bh",
    )
    assert wide["meta"]["by"] == ["segment", "stage"]
    shown = [g["group"] for g in narrow["groups"]]
    assert shown == [{}, {"segment": "consumer"}, {"segment": "small_business"}]
    assert {"group": {"segment": "enterprise"}, "n": 74} in narrow["suppressed"]
    a95, a90 = wide["groups"][0]["items"][0], narrow["groups"][0]["items"][0]
    assert a95["gap_mean"] == a90["gap_mean"]
    assert a95["gap_ci_low"] < a90["gap_ci_low"] < a90["gap_ci_high"] < a95["gap_ci_high"]
    assert {c["factor"] for c in wide["comparisons"]} == {"segment", "stage"}
