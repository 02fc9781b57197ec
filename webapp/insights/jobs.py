"""PDF report jobs: a render runs in a background thread, never in the request that asked for it.

``POST /insights/reports`` submits a job and answers at once with a redirect to its wait page;
the page refreshes itself (``<meta http-equiv="refresh">``, no JavaScript) until the PDF is ready
and then offers it. The render itself already lays the PDF out in a child process with time and
memory limits (``analysis.report.sandbox``), so the thread mostly waits and a web worker stays
free for other requests.

A job's state and its PDF are files in the instance folder (``reports/<id>.json`` and
``<id>.pdf``, written atomically), so any worker process on the host can answer the wait page
and the download. A job only its owner (or an admin) may see; ids are 128-bit random. At most
``MAX_PENDING`` jobs wait per process (more is refused: try again); finished jobs are deleted
after ``KEEP_SECONDS``; a job whose process died is reported as failed after ``STALE_SECONDS``.
Several hosts need a shared instance folder (or the Redis job queue of design.md).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analysis.report.voice import ReportError

LOGGER = logging.getLogger(__name__)
EXTENSION = "gapmeter.report_jobs"
WORKERS = 1
MAX_PENDING = 8
KEEP_SECONDS = 3600
STALE_SECONDS = 900
_ID = re.compile(r"[A-Za-z0-9_-]{22}")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class BusyError(Exception):
    """Too many reports are waiting in this process."""


@dataclass(frozen=True, slots=True)
class JobState:
    id: str
    owner: int
    state: str
    created: float
    query: str  # the dashboard scope, for the "back" link
    filename: str
    finished: float | None = None
    error: str = ""
    size: int = 0

    @property
    def pending(self) -> bool:
        return self.state in {QUEUED, RUNNING}


class ReportJobs:
    """Report jobs of one app: a small thread pool and a folder of job files."""

    def __init__(self, folder: Path, workers: int = WORKERS) -> None:
        self.folder = folder
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report")
        self.futures: dict[str, Future[None]] = {}
        self.lock = threading.Lock()

    def submit(self, owner: int, query: str, filename: str, work: Callable[[], bytes]) -> JobState:
        """Queue ``work`` (which returns the PDF bytes); the job's state at once."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._clean()
        with self.lock:
            pending = sum(1 for future in self.futures.values() if not future.done())
            if pending >= MAX_PENDING:
                raise BusyError
            job = JobState(secrets.token_urlsafe(16), owner, QUEUED, time.time(), query, filename)
            self._write(job)
            self.futures[job.id] = self.executor.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> JobState | None:
        """The job's state (a job left running by a dead process reads as failed)."""
        if not _ID.fullmatch(job_id):
            return None
        try:
            data: dict[str, Any] = json.loads(self._path(job_id, "json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        job = JobState(**data)
        if job.pending and time.time() - job.created > STALE_SECONDS:
            return JobState(**{**data, "state": FAILED, "error": "The render was interrupted."})
        return job

    def pdf(self, job: JobState) -> Path:
        return self._path(job.id, "pdf")

    def wait(self, job_id: str, timeout: float) -> JobState | None:
        """Block until the job ends (for tests and the command line); its final state."""
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)
        return self.get(job_id)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    # Inside -----------------------------------------------------------------------------------
    def _run(self, job: JobState, work: Callable[[], bytes]) -> None:
        self._write(JobState(**{**asdict(job), "state": RUNNING}))
        try:
            pdf = work()
        except ReportError as error:
            self._finish(job, FAILED, error=str(error))
            return
        except Exception:
            LOGGER.exception("report job %s failed", job.id)
            self._finish(job, FAILED, error="The report could not be rendered.")
            return
        target = self._path(job.id, "pdf")
        partial = target.with_suffix(".part")
        partial.write_bytes(pdf)
        os.replace(partial, target)
        self._finish(job, DONE, size=len(pdf))

    def _finish(self, job: JobState, state: str, *, error: str = "", size: int = 0) -> None:
        fields = {**asdict(job), "state": state, "error": error, "size": size}
        self._write(JobState(**{**fields, "finished": time.time()}))

    def _write(self, job: JobState) -> None:
        target = self._path(job.id, "json")
        partial = target.with_suffix(".json-part")
        partial.write_text(json.dumps(asdict(job)), "utf-8")
        os.replace(partial, target)

    def _path(self, job_id: str, suffix: str) -> Path:
        return self.folder / f"{job_id}.{suffix}"

    def _clean(self) -> None:
        """Delete the files of jobs that ended more than ``KEEP_SECONDS`` ago."""
        cutoff = time.time() - KEEP_SECONDS
        for path in self.folder.glob("*.json"):
            job = self.get(path.stem)
            if job is None or job.pending or (job.finished or job.created) > cutoff:
                continue
            for suffix in ("pdf", "json"):
                self._path(job.id, suffix).unlink(missing_ok=True)
            with self.lock:
                self.futures.pop(job.id, None)
