"""Speed of intake: the survey page and the form submission against a bare Flask route, in one run.

Both apps run under the same gunicorn settings (``tests.load.live``: 2 sync workers on
127.0.0.1) and the survey on a fresh SQLite database (WAL, ``synchronous=FULL``) with the
22-item service-quality campaign. ``wrk`` measures, in interleaved rounds so that background
load hits every route alike:

- the bare route: a tiny separate Flask app answering ``Hello, World!`` (the framework's ceiling
  on this machine);
- the survey page: ``GET /s/<campaign>`` (page 1 of 7, a fresh form state each time);
- the form submission: ``POST`` of the last page carrying all 51 answers (46 of them from the
  earlier pages as hidden inputs), CSRF token and a signed form state of its own, so every
  request is checked in full and stored as a new response before its ``303``
  (``benchmarks/intake_post.lua``).

It prints requests per second, p50/p99 latency and the workers' CPU time per request and busy
cores (medians of the rounds), the ratios to the
bare route and each goal (submissions >= 15 % of the bare route's rps, page GET >= 40 %, p99 of
a submission <= 50 ms), and checks that the database holds one response per ``303``.
``--profile DIR`` also samples both workers with py-spy during an extra submission run and
prints the hottest Gapmeter functions. Results: benchmarks/README.md, section "Intake speed".

    python -m benchmarks.bench_intake --duration 10 --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import func, select

from surveys.db import make_engine
from surveys.models import Response
from tests.load.live import WORKERS, LiveServer, prepare
from tests.load.loadgen import random_answers, walk_to_last_page
from tests.webapp.conftest import SECRET, library_instrument

HERE = Path(__file__).resolve().parent
POST_SCRIPT = HERE / "intake_post.lua"
GOAL_SUBMIT_RATIO = 0.15
GOAL_PAGE_RATIO = 0.40
GOAL_SUBMIT_P99_MS = 50.0
#: A py-spy frame of Gapmeter's own code ("name (webapp/respond/routes.py:119)"; py-spy
#: gives paths relative to the working directory or sys.path).
OWN_FRAME = re.compile(r"\((?:\S*/)?(?:webapp|surveys|analysis)/[^/\s]+(?:/[^/\s]+)*\.py:\d+\)$")
#: Form states generated per expected submission (headroom so none is sent twice).
STATE_HEADROOM = 3


def hello_app() -> Flask:
    """The bare route: what Flask and gunicorn cost on this machine with nothing else."""
    app = Flask("hello")

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    @app.get("/health")
    def health() -> str:
        return "ok"

    return app


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors and replies other than 2xx/3xx
    replayed: int = 0  # submissions that had to reuse a form state (should be 0)
    worker_cpu_ms: float = 0.0  # the server workers' CPU time per request
    busy_cores: float = 0.0  # the server workers' CPU time per second of the run


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Requests/sec, the latency percentiles and the error counts from ``wrk --latency``."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: (.*)", output):
        errors += sum(int(n) for n in re.findall(r"\d+", match.group(1)))
    replayed = re.search(r"replayed states: (\d+)", output)
    return WrkResult(rps, p50, p99, done, errors, int(replayed.group(1)) if replayed else 0)


def cpu_seconds(pids: Sequence[int]) -> float:
    """User and system CPU time the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, args: argparse.Namespace, script: Sequence[str] = (), workers: Sequence[int] = ()
) -> WrkResult:
    """One wrk run against ``url``; with ``workers`` (pids), also their CPU time per request."""
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
    ]
    if script:
        command += ["-s", script[0], url, "--", *script[1:]]
    else:
        command.append(url)
    cpu_before, start = cpu_seconds(workers), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    cpu, elapsed = cpu_seconds(workers) - cpu_before, time.perf_counter() - start
    result = parse_wrk(done.stdout)
    return dataclasses.replace(
        result,
        worker_cpu_ms=1000 * cpu / max(result.requests, 1),
        busy_cores=cpu / elapsed,
    )


class Submissions:
    """Everything the POST script needs: a browser's cookie and CSRF token, the last page's
    form with every answer, and fresh signed form states (one per request)."""

    def __init__(self, server: LiveServer, campaign_key: str, workdir: Path) -> None:
        instrument = library_instrument("service-quality.yaml")
        answers = random_answers(instrument, random.Random(2026))
        page, browser, data = walk_to_last_page(server.url, f"/s/{campaign_key}", answers)
        data.pop("gm_state")
        self.url = server.url + str(page.action)
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
        self.body = workdir / "body.txt"
        self.body.write_text(urlencode(data))
        self.workdir = workdir
        self.batches = 0

    def script(self, count: int, threads: int) -> list[str]:
        """The wrk ``-s`` arguments with a new file of ``count`` unused form states."""
        from webapp.respond.state import FormState

        self.batches += 1
        states = self.workdir / f"states-{self.batches}.txt"
        signer = Flask("signer")
        signer.config["SECRET_KEY"] = SECRET
        with signer.app_context(), states.open("w") as out:
            for _ in range(count):
                out.write(FormState.new().dumps() + "\n")
        return [str(POST_SCRIPT), str(self.body), str(states), self.cookie, str(threads)]


def durable_commits_per_second(directory: Path, count: int = 200) -> float:
    """One-row write transactions per second on this disk with the app's SQLite settings (WAL,
    ``synchronous=FULL``): each acknowledged submission waits for one such fsync, so this is
    the ceiling of durable submissions per second for a single SQLite file here."""
    path = directory / "fsync-floor.db"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE t (x INTEGER)")
        start = time.perf_counter()
        for number in range(count):
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t VALUES (?)", (number,))
            connection.execute("COMMIT")
        return count / (time.perf_counter() - start)
    finally:
        connection.close()


def worker_pids(server: LiveServer) -> list[int]:
    assert server.process is not None
    return [pid for pid in server.pids() if pid != server.process.pid]


def profile(
    server: LiveServer, submissions: Submissions, page_url: str, args: argparse.Namespace
) -> None:
    """Sample both workers with py-spy during a run of ``--profile-route``; print the hottest
    Gapmeter frames (share of samples whose stack includes them)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    args.profile.mkdir(parents=True, exist_ok=True)
    samplers = [
        subprocess.Popen(  # noqa: S603
            [py_spy, "record", "--pid", str(pid), "--duration", str(args.duration),
             "--rate", "250", "--format", "raw", "--nonblocking",
             "--output", str(args.profile / f"worker-{pid}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in worker_pids(server)
    ]  # fmt: skip
    if args.profile_route == "page":
        run_wrk(page_url, args)
    else:
        run_wrk(submissions.url, args, submissions.script(args.expect * 2, args.threads))
    for sampler in samplers:
        sampler.wait(timeout=60)
    inclusive: Counter[str] = Counter()
    total = 0
    for path in args.profile.glob("worker-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = (
                set(stack.split(";"))
                if args.all_frames
                else {f for f in stack.split(";") if OWN_FRAME.search(f)}
            )
            total += int(count)
            for frame in frames:
                inclusive[frame] += int(count)
    print(f"\npy-spy: {total} samples of the workers; hottest Gapmeter frames (inclusive):")
    for frame, count in inclusive.most_common(args.top):
        print(f"  {100 * count / max(total, 1):5.1f} %  {frame}")


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average at start {load:.2f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--expect", type=int, default=0, help="form states per run (default: 3000/s)"
    )
    parser.add_argument("--profile", type=Path, help="py-spy profiles of the workers go here")
    parser.add_argument("--profile-route", choices=("submit", "page"), default="submit")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--all-frames", action="store_true", help="library frames too")
    args = parser.parse_args(argv)
    args.expect = args.expect or int(3000 * args.duration)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package wrk)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="gapmeter-bench-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'intake.db'}"
        setup = prepare(db_url, tokens=1)
        survey = LiveServer(db_url, workdir / "instance")
        hello = LiveServer(
            db_url, workdir / "hello", app_spec="benchmarks.bench_intake:hello_app()"
        )
        with hello, survey:
            submissions = Submissions(survey, setup.open_key, workdir)
            engine = make_engine(db_url)
            stored_before = _count(engine)
            runs: dict[str, list[WrkResult]] = {"hello": [], "page": [], "submit": []}
            for _ in range(args.rounds):
                runs["hello"].append(run_wrk(hello.url + "/", args, workers=worker_pids(hello)))
                page_url = f"{survey.url}/s/{setup.open_key}"
                runs["page"].append(run_wrk(page_url, args, workers=worker_pids(survey)))
                script = submissions.script(args.expect * STATE_HEADROOM, args.threads)
                runs["submit"].append(
                    run_wrk(submissions.url, args, script, workers=worker_pids(survey))
                )
            stored = _count(engine) - stored_before
            args.fsync_ceiling = durable_commits_per_second(workdir)
            if args.profile:
                profile(survey, submissions, f"{survey.url}/s/{setup.open_key}", args)
            engine.dispose()
    return report(runs, stored, args)


def _count(engine: object) -> int:
    from sqlalchemy.orm import Session

    with Session(engine) as session:  # type: ignore[call-overload]
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


def _median(results: list[WrkResult], name: str) -> float:
    return statistics.median(getattr(result, name) for result in results)


def report(runs: dict[str, list[WrkResult]], stored: int, args: argparse.Namespace) -> int:
    labels = {
        "hello": "bare Flask route (GET /)",
        "page": "survey page (GET /s/<key>)",
        "submit": "form submission (POST, 303)",
    }
    print(
        f"\nGapmeter intake benchmark: gunicorn {WORKERS} sync workers, SQLite WAL "
        f"(synchronous=FULL); wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, "
        f"{args.rounds} round(s), medians\nmachine: {machine()}\n"
    )
    print(
        f"{'':32}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'CPU ms/req':>12}{'busy cores':>12}"
    )
    for key, label in labels.items():
        results = runs[key]
        errors = sum(result.errors for result in results)
        print(
            f"{label:32}{_median(results, 'rps'):9.0f}{_median(results, 'p50_ms'):9.2f}"
            f"{_median(results, 'p99_ms'):9.2f}{errors:8d}"
            f"{_median(results, 'worker_cpu_ms'):12.3f}{_median(results, 'busy_cores'):12.2f}"
        )
    bare = _median(runs["hello"], "rps")
    submit_ratio = _median(runs["submit"], "rps") / bare
    page_ratio = _median(runs["page"], "rps") / bare
    p99 = _median(runs["submit"], "p99_ms")
    submit_goal = _goal(submit_ratio >= GOAL_SUBMIT_RATIO, ">= 0.15")
    print(f"\nsubmissions / bare route: {submit_ratio:.3f} {submit_goal}")
    page_goal = _goal(page_ratio >= GOAL_PAGE_RATIO, ">= 0.40")
    print(f"survey page / bare route: {page_ratio:.3f} {page_goal}")
    print(f"p99 of a submission: {p99:.1f} ms {_goal(p99 <= GOAL_SUBMIT_P99_MS, '<= 50 ms')}")
    answered = sum(result.requests for result in runs["submit"])
    replayed = sum(result.replayed for result in runs["submit"])
    ceiling = args.fsync_ceiling
    print(
        f"durable SQLite commits on this disk: {ceiling:.0f}/s (one per submission; "
        f"submissions reached {_median(runs['submit'], 'rps') / ceiling:.0%} of it)"
    )
    print(f"stored responses: {stored:,} for {answered:,} submissions answered; replays {replayed}")
    errors = sum(result.errors for results in runs.values() for result in results)
    # Every answered submission is a new response; wrk may stop with a few still in flight.
    consistent = answered <= stored <= answered + args.connections * args.rounds
    if errors or replayed or not consistent:
        print("NOT CONSISTENT: errors, replayed states or stored != answered", file=sys.stderr)
        return 1
    return 0


def _goal(met: bool, goal: str) -> str:
    return f"(goal {goal}: {'met' if met else 'NOT MET'})"


if __name__ == "__main__":
    raise SystemExit(main())
