"""A small-size smoke of the scale benchmark (CI runs this; the timed run is benchmarks/README.md).

No timing is asserted: a shared CI machine's timings say nothing. What must hold at any size is
that the run completes, both children report, (a) and (b) compute the same numbers, and the
report prints its ratio lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.bench_assessment import main


def test_the_benchmark_runs_end_to_end_at_small_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--responses",
            "2000",
            "--incremental",
            "100",
            "--repeats",
            "2",
            "--db",
            str(tmp_path / "bench.db"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Gapmeter assessment benchmark: 2,000 responses" in out
    assert re.search(r"^speed-up \(b\)/\(a\): [\d.]+x \(goal >= 20x: (met|NOT MET)\)$", out, re.M)
    assert re.search(r"^memory \(b\)/\(a\): [\d.]+x \(goal >= 10x: (met|NOT MET)\)$", out, re.M)
    assert re.search(r"^\(c\) refresh after 100 new responses +[\d.]+ s", out, re.M)
    agreement = re.search(r"differ by at most (\S+)$", out, re.M)
    assert agreement is not None
    assert float(agreement.group(1)) < 1e-9
