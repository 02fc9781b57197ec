"""A small-size smoke of the report benchmark (the timed run is in benchmarks/README.md).

No timing is asserted: what must hold at any size is that the run completes, renders the whole
report and prints its figures, the ratio against the minimal report and the goal line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from benchmarks.bench_report import main


def test_the_report_benchmark_runs_end_to_end_at_small_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.pdf"
    code = main(
        ["--responses", "800", "--runs", "1", "--db", str(tmp_path / "b.db"), "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert re.search(r"^Gapmeter PDF report benchmark: demo, [\d,]+ respondents", printed, re.M)
    for step in ("analysis (cells", "render: assessment -> PDF", "baseline: minimal"):
        assert re.search(rf"^{re.escape(step)}.*\d+\.\d\ds", printed, re.M), step
    assert re.search(r"^render / baseline: [\d.]+x$", printed, re.M)
    assert re.search(r"^render <= 3 s: (met|NOT MET)$", printed, re.M)
    pages = int(re.search(r"by segment × stage, (\d+) pages", printed).group(1))  # type: ignore[union-attr]
    assert len(PdfReader(out).pages) == pages > 10
