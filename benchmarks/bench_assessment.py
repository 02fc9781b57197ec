"""The assessment at scale: aggregates against what a researcher would write, in one run.

Generates ``--responses`` synthetic responses to the 22-item service-quality instrument (4 segments,
one of them added to the taxonomy, × 5 stages × 4 channels × 12 months; one campaign per stage and
channel), stores them with the bulk path and builds the aggregate cells. Then it times:

(a) the assessment with a segment × stage breakdown read from the aggregates: cold (every blob
    decoded) and warm (median of ``--repeats`` runs after one warm-up: the decoded cells are
    cached, every statistic is computed again, nothing of it is memoised), and its peak memory
    in a child process;
(b) the baseline (``benchmarks.baseline``): ``pandas.read_sql`` of every answer, a pivot and
    scipy/statsmodels per group, in a child process so its peak memory is its own;
(c) the incremental refresh after ``--incremental`` new responses in the last month.

It prints a table with the speed-up (b)/(a), the memory ratio and each goal (SQLite: (a) ≤ 2 s warm
and ≥ 20× faster than (b), peak memory ≤ 1/10 of (b); (c) ≤ 1 s). Peak memory is the child's own
high-water mark (``VmHWM``): ``ru_maxrss`` would include the parent's, which a forked child
inherits across ``exec``. Results: benchmarks/README.md.

    python -m benchmarks.bench_assessment --responses 1000000 --db /tmp/bench.db
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

REPO = Path(__file__).resolve().parents[1]
INSTRUMENT_FILE = REPO / "instruments" / "service-quality.yaml"
ADDED_SEGMENT = ("public_sector", "Public sector")
STAGES = ("pre_sales", "purchase", "onboarding", "after_sales", "renewal")
CHANNELS = ("web", "hotline", "store", "email")
START = date(2025, 1, 1)
MONTHS = 12
BY = ("segment", "stage")
GOAL_WARM_SECONDS = 2.0
GOAL_SPEEDUP = 20.0
GOAL_MEMORY_RATIO = 10.0
GOAL_INCREMENTAL_SECONDS = 1.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, required=True, help="SQLite file (replaced)")
    parser.add_argument("--incremental", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5, help="warm runs of (a) after a warm-up")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a database that holds at least --responses responses (for profiling)",
    )
    parser.add_argument("--child", choices=("assess", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--version-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, _url(args.db), args.version_id)))
        return 0
    return _run(args)


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


# The run ------------------------------------------------------------------------------------
@dataclass
class Figures:
    responses: int = 0
    answers: int = 0
    cells: int = 0
    store_s: float = 0.0
    build_s: float = 0.0
    cold_s: float = 0.0
    warm_s: float = 0.0
    assess_rss_mb: float = 0.0
    assess_imports_mb: float = 0.0
    baseline_s: float = 0.0
    baseline_rss_mb: float = 0.0
    baseline_imports_mb: float = 0.0
    warm_cpu_s: float = 0.0
    incremental_store_s: float = 0.0
    incremental_s: float = 0.0
    incremental_cpu_s: float = 0.0
    load: tuple[float, ...] = ()
    after_update_s: float = 0.0
    max_difference: float = 0.0


def _run(args: argparse.Namespace) -> int:
    from analysis.store import DECODED, refresh_aggregates
    from surveys.db import make_engine
    from surveys.instrument_loader import load_instrument_file

    instrument = load_instrument_file(INSTRUMENT_FILE)
    figures = Figures()
    reuse = args.reuse and args.db.exists()
    if not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(_url(args.db))
    try:
        version_id = _prepare(engine, instrument)
        if not reuse or _count(engine) < args.responses:
            started = time.perf_counter()
            _store(engine, instrument, args.responses, args.seed, START, MONTHS)
            figures.store_s = time.perf_counter() - started
            print(f"stored {args.responses:,} responses in {figures.store_s:.1f} s", flush=True)
        figures.responses = _count(engine)
        figures.answers = _count(engine, answers=True)

        started = time.perf_counter()
        built = refresh_aggregates(engine, instrument_version_id=version_id)
        figures.build_s = time.perf_counter() - started
        figures.cells = _cell_count(engine)
        print(f"aggregates: {built.responses:,} responses folded in {figures.build_s:.1f} s")

        DECODED.clear()
        figures.cold_s, result = _timed(lambda: _assessment(engine, version_id, instrument))
        _assessment(engine, version_id, instrument)  # warm-up
        cpu = time.process_time()
        runs = [
            _timed(lambda: _assessment(engine, version_id, instrument))[0]
            for _ in range(args.repeats)
        ]
        figures.warm_cpu_s = (time.process_time() - cpu) / args.repeats
        figures.load = os.getloadavg()
        figures.warm_s = statistics.median(runs)
        print(f"(a) cold {figures.cold_s:.3f} s, warm {figures.warm_s:.3f} s", flush=True)

        child = _spawn("assess", args.db, version_id)
        figures.assess_rss_mb = child["max_rss_mb"]
        figures.assess_imports_mb = child["rss_after_imports_mb"]
        baseline = _spawn("baseline", args.db, version_id)
        figures.baseline_s = baseline["seconds"]
        figures.baseline_rss_mb = baseline["max_rss_mb"]
        figures.baseline_imports_mb = baseline["rss_after_imports_mb"]
        figures.max_difference = _difference(result, baseline["result"])
        print(f"(b) {figures.baseline_s:.1f} s", flush=True)

        last_month = _month_start(START, MONTHS - 1)
        started = time.perf_counter()
        _store(engine, instrument, args.incremental, args.seed + 1, last_month, 1)
        figures.incremental_store_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        update = refresh_aggregates(engine, instrument_version_id=version_id)
        figures.incremental_s = time.perf_counter() - started
        figures.incremental_cpu_s = time.process_time() - cpu
        figures.load += os.getloadavg()
        if update.responses != args.incremental:
            raise RuntimeError(f"the refresh folded {update.responses}, not {args.incremental}")
        figures.after_update_s, _ = _timed(lambda: _assessment(engine, version_id, instrument))
    finally:
        engine.dispose()
    print(_report(figures, args))
    return 0


def _timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def _assessment(engine: Engine, version_id: int, instrument: Any) -> dict[str, Any]:
    """(a): cells from the aggregate table (refreshed first), the assessment, its JSON."""
    from analysis.assessment import assess
    from analysis.store import cells_from_database

    cells = cells_from_database(engine, instrument_version_id=version_id)
    return assess(cells, instrument, by=BY, targets=instrument.targets).to_json()


# Setting up -------------------------------------------------------------------------------
def _prepare(engine: Engine, instrument: Any) -> int:
    """Schema (migrations), taxonomy with an added segment, the instrument, a campaign per stage
    and channel; returns the instrument version id."""
    from surveys import taxonomy
    from surveys.db import write_session
    from surveys.migrate import upgrade
    from surveys.services.campaigns import create_campaign, get_campaign
    from surveys.services.instruments import register_instrument

    upgrade(engine.url.render_as_string(hide_password=False))
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        if ADDED_SEGMENT[0] not in taxonomy.term_keys(session, "segment"):
            taxonomy.add_term(session, "segment", *ADDED_SEGMENT)
        row = register_instrument(session, instrument, INSTRUMENT_FILE.read_text("utf-8"))
        for stage in STAGES:
            for channel in CHANNELS:
                key = _campaign_key(stage, channel)
                if get_campaign(session, key) is None:
                    create_campaign(
                        session,
                        key=key,
                        name=f"Service quality, {stage}, {channel}",
                        instrument_row=row,
                        stage=stage,
                        channel=channel,
                        opens_at=datetime(START.year, START.month, START.day, tzinfo=UTC),
                    )
        return row.id


def _campaign_key(stage: str, channel: str) -> str:
    return f"sq-{stage}-{channel}".replace("_", "-")


def _segments(engine: Engine) -> list[str]:
    from surveys import taxonomy
    from surveys.db import read_session

    with read_session(engine) as session:
        return sorted(taxonomy.term_keys(session, "segment"))


def _store(engine: Engine, instrument: Any, n: int, seed: int, start: date, months: int) -> None:
    """Generate ``n`` responses and store each chunk with the bulk path, in its campaign."""
    from surveys.db import write_session
    from surveys.demo import generate_records
    from surveys.models import Campaign, Source
    from surveys.services.responses import store_records

    segments = _segments(engine)
    for chunk in generate_records(
        instrument,
        n=n,
        seed=seed,
        segments=segments,
        stages=STAGES,
        channels=CHANNELS,
        start=start,
        months=months,
    ):
        by_campaign: dict[str, list[Any]] = defaultdict(list)
        for record in chunk:
            by_campaign[_campaign_key(record.stage, record.channel)].append(record)
        with write_session(engine) as session:
            campaigns = {
                row.key: row
                for row in session.scalars(select(Campaign).where(Campaign.key.in_(by_campaign)))
            }
            for key, records in by_campaign.items():
                store_records(
                    session,
                    campaign=campaigns[key],
                    instrument=instrument,
                    records=records,
                    source=Source.DEMO,
                )


def _month_start(start: date, months_after: int) -> date:
    year, month = divmod(start.month - 1 + months_after, 12)
    return date(start.year + year, month + 1, 1)


def _count(engine: Engine, *, answers: bool = False) -> int:
    from surveys.models import Answer, Response

    table = Answer if answers else Response
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def _cell_count(engine: Engine) -> int:
    from surveys.models import AggregateCell

    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(AggregateCell)) or 0)


# Children ---------------------------------------------------------------------------------
def _spawn(kind: str, db: Path, version_id: int) -> dict[str, Any]:
    """Run (a) or (b) in a fresh interpreter and read its figures (last line of its output)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_assessment",
        "--child",
        kind,
        "--db",
        str(db),
        "--version-id",
        str(version_id),
    ]
    # A fixed argv: this interpreter running this module.
    done = subprocess.run(  # noqa: S603
        command, cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child(kind: str, url: str, version_id: int) -> dict[str, Any]:
    """In the child: import what the work needs, then do it once (after a warm-up for (a))."""
    from surveys.instrument_loader import load_instrument_file

    instrument = load_instrument_file(INSTRUMENT_FILE)
    if kind == "baseline":
        from benchmarks.baseline import researcher_assessment

        imported = _max_rss_mb()
        seconds, result = _timed(lambda: researcher_assessment(url, version_id, instrument))
    else:
        import analysis.assessment
        import analysis.store  # noqa: F401 - imported before the measurement, as (b) imports
        from surveys.db import make_engine

        engine = make_engine(url)
        imported = _max_rss_mb()
        _assessment(engine, version_id, instrument)
        seconds, full = _timed(lambda: _assessment(engine, version_id, instrument))
        result = _headline(full)
        engine.dispose()
    return {
        "seconds": seconds,
        "max_rss_mb": _max_rss_mb(),
        "rss_after_imports_mb": imported,
        "result": result,
    }


def _max_rss_mb() -> float:
    """This process's peak resident set size in MB: ``VmHWM`` where /proc has it (Linux), else
    ``ru_maxrss`` (which, on Linux, starts from the parent's peak in a spawned child)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _headline(assessment: dict[str, Any]) -> dict[str, Any]:
    whole = assessment["groups"][0]
    return {
        "respondents": assessment["meta"]["n_responses"],
        "dimension_gap_means": {row["dimension"]: row["gap_mean"] for row in whole["dimensions"]},
        "item_n": {row["item"]: row["n"] for row in whole["items"]},
    }


def _difference(assessment: dict[str, Any], baseline: dict[str, Any]) -> float:
    """Largest difference between (a) and (b) in the whole scope's dimension gap means (the
    two must compute the same thing for the comparison to mean anything)."""
    ours = _headline(assessment)
    if ours["respondents"] != baseline["respondents"] or ours["item_n"] != baseline["item_n"]:
        return float("inf")
    return max(
        abs(ours["dimension_gap_means"][dim] - value)
        for dim, value in baseline["dimension_gap_means"].items()
    )


# The report ---------------------------------------------------------------------------------
def machine() -> str:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kib / 1024**2:.0f} GiB RAM"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores{memory}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _report(f: Figures, args: argparse.Namespace) -> str:
    speedup = f.baseline_s / f.warm_s if f.warm_s else float("inf")
    memory = f.baseline_rss_mb / f.assess_rss_mb if f.assess_rss_mb else float("inf")
    rows = [
        ("generate + store (bulk path)", f"{f.store_s:9.1f} s", ""),
        (f"build aggregates ({f.cells:,} cells)", f"{f.build_s:9.1f} s", ""),
        ("(a) assessment from aggregates, cold", f"{f.cold_s:9.3f} s", ""),
        (
            f"(a) assessment from aggregates, warm (median of {args.repeats})",
            f"{f.warm_s:9.3f} s",
            f"{f.assess_rss_mb:8.0f} MB",
        ),
        (
            "(b) baseline: read_sql + pandas + scipy",
            f"{f.baseline_s:9.3f} s",
            f"{f.baseline_rss_mb:8.0f} MB",
        ),
        (f"(c) refresh after {args.incremental:,} new responses", f"{f.incremental_s:9.3f} s", ""),
        ("    then (a) again", f"{f.after_update_s:9.3f} s", ""),
    ]
    width = max(len(row[0]) for row in rows)
    lines = [
        f"Gapmeter assessment benchmark: {f.responses:,} responses, {f.answers:,} answer rows, "
        f"by {' × '.join(BY)}",
        f"machine: {machine()}",
        "load average (1, 5, 15 min) at (a) warm: "
        + ", ".join(f"{x:.2f}" for x in f.load[:3])
        + "; at (c): "
        + ", ".join(f"{x:.2f}" for x in f.load[3:]),
        f"CPU time of this process: (a) warm {f.warm_cpu_s:.3f} s per run, "
        f"(c) {f.incremental_cpu_s:.3f} s",
        f"{'step':<{width}}  {'time':>11}  {'peak RSS':>11}",
        *(f"{name:<{width}}  {time_:>11}  {rss:>11}" for name, time_, rss in rows),
        f"speed-up (b)/(a): {speedup:.1f}x (goal >= {GOAL_SPEEDUP:.0f}x: "
        f"{_met(speedup >= GOAL_SPEEDUP)})",
        f"memory (b)/(a): {memory:.1f}x (goal >= {GOAL_MEMORY_RATIO:.0f}x: "
        f"{_met(memory >= GOAL_MEMORY_RATIO)})",
        f"(a) warm <= {GOAL_WARM_SECONDS:.0f} s: {_met(f.warm_s <= GOAL_WARM_SECONDS)}",
        f"(c) incremental <= {GOAL_INCREMENTAL_SECONDS:.0f} s: "
        f"{_met(f.incremental_s <= GOAL_INCREMENTAL_SECONDS)}",
        f"peak RSS after imports alone: (a) {f.assess_imports_mb:.0f} MB, "
        f"(b) {f.baseline_imports_mb:.0f} MB",
        f"(a) and (b) agree: whole-scope dimension gaps differ by at most {f.max_difference:.2e}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
