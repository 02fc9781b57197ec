"""A tiny run of the intake benchmark (benchmarks/bench_intake.py; figures in
benchmarks/README.md). No speed is asserted, a shared CI machine's timings say nothing: what
must hold at any size is that every measurement runs, no request fails, every submission
answered 303 is one stored response (none replayed) and the report prints its goal lines."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from benchmarks.bench_intake import main

pytestmark = pytest.mark.slow


def test_the_intake_benchmark_runs_end_to_end_at_tiny_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (Debian package wrk)")
    code = main(["--duration", "1", "--rounds", "1", "--connections", "2", "--threads", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    for label in ("bare Flask route", "survey page", "form submission"):
        # rps, p50, p99, errors (none), the workers' CPU ms per request and busy cores
        row = re.search(rf"^{label}.*\s\d+\s+[\d.]+\s+[\d.]+\s+0\s+([\d.]+)\s+([\d.]+)$", out, re.M)
        assert row is not None, out
        assert float(row.group(1)) > 0, out  # the workers' CPU time was read
        assert 0 < float(row.group(2)) <= (os.cpu_count() or 1) + 0.05, out  # at most all cores
    assert re.search(
        r"^submissions / bare route: [\d.]+ \(goal >= 0.15: (met|NOT MET)\)$", out, re.M
    )
    assert re.search(
        r"^survey page / bare route: [\d.]+ \(goal >= 0.40: (met|NOT MET)\)$", out, re.M
    )
    assert re.search(
        r"^p99 of a submission: [\d.]+ ms \(goal <= 50 ms: (met|NOT MET)\)$", out, re.M
    )
    stored = re.search(
        r"^stored responses: ([\d,]+) for ([\d,]+) submissions answered; replays 0$", out, re.M
    )
    assert stored is not None, out
    assert int(stored.group(1).replace(",", "")) >= int(stored.group(2).replace(",", "")) > 0
