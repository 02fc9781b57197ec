"""The PDF report of the demo: how long it takes to render, against a minimal report, in one run.

Fills a fresh SQLite database with the demo (``surveys.demo.populate_demo``), then, for the
service-quality campaigns by segment × stage (what ``gapmeter report --campaign ... --by
segment,stage`` does), times ``--runs`` times each:

- **analysis**: the cells from the aggregates, the assessment, the comments and the answer
  distributions (what differs between a demo and a 1,000,000-response report);
- **render**: ``analysis.report.render_report`` from the assessment to PDF bytes (report model and
  charts in this process, layout in the render child), and its two parts apart: the **model**
  (charts drawn) and the **PDF** (the render child, with its CPU seconds);
- **baseline**: the render of a minimal report (one page of text in the report's CSS and fonts)
  through the same render child, the fixed cost of any PDF.

Prints the medians, the ratio render / baseline and the goal (render <= 3 s). The first render
of a process also starts the render child's forkserver (WeasyPrint imported once); it is printed
apart. Results: benchmarks/README.md, "PDF report rendering".

    python -m benchmarks.bench_report --runs 7
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_assessment import machine

GOAL_RENDER_SECONDS = 3.0
INSTRUMENT_KEY = "service-quality"
BY = ("segment", "stage")


@dataclass
class Inputs:
    """What ``render_report`` gets: the assessment's JSON and what goes with it."""

    assessment: dict[str, Any]
    instrument: Any
    comments: list[Any]
    distributions: dict[str, dict[int, int]]


class ChildCpu(logging.Handler):
    """Collects the render child's CPU seconds from the sandbox's timing record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.args and isinstance(record.args, tuple) and len(record.args) == 3:
            self.seconds.append(float(record.args[2]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=5000, help="demo responses (all surveys)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each step")
    parser.add_argument("--db", type=Path, help="SQLite file (replaced; default: a temp file)")
    parser.add_argument("--out", type=Path, help="also write the last report here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        db = args.db or Path(scratch) / "report-bench.db"
        return _run(args, db)


def _run(args: argparse.Namespace, db: Path) -> int:
    from sqlalchemy import select

    from surveys.db import make_engine
    from surveys.demo import populate_demo
    from surveys.models import Campaign, InstrumentVersion

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    try:
        populate_demo(engine, responses=args.responses)
        with engine.connect() as connection:
            keys = tuple(
                connection.scalars(
                    select(Campaign.key)
                    .join(InstrumentVersion, InstrumentVersion.id == Campaign.instrument_id)
                    .where(InstrumentVersion.key == INSTRUMENT_KEY)
                    .order_by(Campaign.key)
                )
            )
        return _measure(args, engine, keys)
    finally:
        engine.dispose()


def _analysis(engine: Any, keys: tuple[str, ...]) -> Inputs:
    from analysis.assessment import assess
    from analysis.report.inputs import comments_from_database, distributions_from_cells
    from analysis.store import campaign_source

    source = campaign_source(engine)(keys, None)
    assessment = assess(
        source.cells,
        source.instrument,
        by=BY,
        targets=source.instrument.targets,
        data_hash=source.data_hash,
        filters=source.filters,
    )
    return Inputs(
        assessment.to_json(),
        source.instrument,
        comments_from_database(engine, keys, source.instrument),
        distributions_from_cells(source.cells, source.instrument),
    )


def _timed(
    step: Callable[[], Any], runs: int, cpu: list[float] | None = None
) -> tuple[list[float], Any]:
    """Wall-clock seconds of ``runs`` calls (and this process's CPU seconds into ``cpu``)."""
    times, result = [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = step()
        times.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.process_time() - started_cpu)
    return times, result


def _measure(args: argparse.Namespace, engine: Any, keys: tuple[str, ...]) -> int:
    from pypdf import PdfReader

    from analysis.report.model import build_report_model
    from analysis.report.render import render_html, render_report, report_css
    from analysis.report.sandbox import TIMING, render_isolated

    cpu = ChildCpu()
    TIMING.addHandler(cpu)
    TIMING.setLevel(logging.DEBUG)
    runs = max(1, args.runs)
    analysis_s, inputs = _timed(lambda: _analysis(engine, keys), runs + 1)
    analysis_s = analysis_s[1:]  # the first run also folds the demo into the aggregates

    def render() -> bytes:
        return render_report(
            inputs.assessment,
            inputs.instrument,
            comments=inputs.comments,
            distributions=inputs.distributions,
        )

    first_s, pdf = _timed(render, 1)  # starts the forkserver
    render_cpu: list[float] = []
    cpu.seconds.clear()
    render_s, pdf = _timed(render, runs, render_cpu)
    render_child = list(cpu.seconds)
    model_cpu: list[float] = []
    model_s, model = _timed(
        lambda: build_report_model(
            inputs.assessment,
            inputs.instrument,
            comments=inputs.comments,
            distributions=inputs.distributions,
        ),
        runs,
        model_cpu,
    )
    html, css = render_html(model), report_css(model)
    cpu.seconds.clear()
    pdf_s, _ = _timed(lambda: render_isolated(html, css), runs)
    child_cpu = list(cpu.seconds)
    minimal = f"<html><body><h1>{model.title}</h1><p>{model.cover.organisation}</p></body></html>"
    baseline_s, _ = _timed(lambda: render_isolated(minimal, css), runs)
    TIMING.removeHandler(cpu)
    if args.out:
        args.out.write_bytes(pdf)

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    whole = next(g for g in inputs.assessment["groups"] if not g.get("group"))
    median = statistics.median
    rows = [
        ("analysis (cells, assessment, comments, distributions)", analysis_s),
        ("render: assessment -> PDF (render_report)", render_s),
        ("  of which model and charts (this process)", model_s),
        ("  of which PDF (render child)", pdf_s),
        ("baseline: minimal one-page report (render child)", baseline_s),
        ("analysis + render", [a + r for a, r in zip(analysis_s, render_s, strict=True)]),
    ]
    width = max(len(name) for name, _ in rows)
    ratio = median(render_s) / median(baseline_s)
    lines = [
        f"Gapmeter PDF report benchmark: demo, {whole['n']:,} respondents of {len(keys)} "
        f"campaigns, by {' × '.join(BY)}, {pages} pages, {len(inputs.comments):,} comments read",
        f"machine: {machine()}",
        f"{'step':<{width}}  {'median':>8}  {'min':>7}  {'max':>7}   (of {runs} runs)",
        *(
            f"{name:<{width}}  {median(t):7.2f}s  {min(t):6.2f}s  {max(t):6.2f}s"
            for name, t in rows
        ),
        f"first render of the process (starts the forkserver): {first_s[0]:.2f} s",
        f"CPU seconds (medians): model and charts {median(model_cpu):.2f} s; render child "
        f"{median(child_cpu):.2f} s; render in all {median(render_cpu):.2f} s here + "
        f"{median(render_child):.2f} s in the child",
        f"render / baseline: {ratio:.1f}x",
        f"render <= {GOAL_RENDER_SECONDS:.0f} s: "
        f"{'met' if median(render_s) <= GOAL_RENDER_SECONDS else 'NOT MET'}",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
