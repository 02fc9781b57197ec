"""A real gunicorn server on a fresh database, and the survey set up on it (tests/load and
benchmarks/bench_intake.py share this, so both run the same server settings).

The server is gunicorn with ``WORKERS`` sync workers bound to 127.0.0.1 only, in its own process
group so one ``SIGKILL`` of the group takes the master and every worker down at once, as a
crashed machine would. The database is prepared (migrations, taxonomy, the 22-item
service-quality campaign, invitations, an API key) before the server starts, so no worker races
another to migrate.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests
from sqlalchemy import Engine

from surveys.db import make_engine, write_session
from surveys.models import Access
from surveys.services import accounts, campaigns, invitations
from tests.webapp.conftest import SECRET, add_campaign, library_instrument
from webapp import prepare_database

REPO = Path(__file__).resolve().parents[2]
WORKERS = 2
HOST = "127.0.0.1"
#: Settings every load run shares: generous API limits (the runs post thousands of responses
#: with one key), a fixed secret so cookies and form state survive a restart.
BASE_ENV = {
    "GAPMETER_SECRET_KEY": SECRET,
    "GAPMETER_AUTO_MIGRATE": "0",
    "GAPMETER_API_RATE_LIMIT": "1000000 per minute",
}


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class SurveySetup:
    """What the load runs use: an open campaign, an invitation-only one with its tokens, and
    an API key for the open one."""

    open_key: str
    invitation_key: str
    tokens: tuple[str, ...]
    api_key: str
    api_key_id: int


def set_up_survey(engine: Engine, tokens: int = 5) -> SurveySetup:
    """The service-quality campaigns (open link and invitation only), tokens and an API key."""
    instrument = library_instrument("service-quality.yaml")
    open_key = add_campaign(engine, instrument, "load-open")
    invitation_key = add_campaign(engine, instrument, "load-invited", access=Access.INVITATION)
    with write_session(engine) as session:
        campaign = campaigns.campaign_or_error(session, invitation_key)
        issued = invitations.issue_invitations(session, campaign, tokens, "consumer")
        key = accounts.create_api_key(session, "Load generator", campaign_key=open_key)
    return SurveySetup(open_key, invitation_key, tuple(i.token for i in issued), key.key, key.id)


def prepare(db_url: str, tokens: int = 5) -> SurveySetup:
    """Migrate the empty database at ``db_url`` and set the survey up on it."""
    prepare_database(db_url)
    engine = make_engine(db_url)
    try:
        return set_up_survey(engine, tokens)
    finally:
        engine.dispose()


class LiveServer:
    """gunicorn serving ``webapp.create_app`` on ``db_url``; start, kill -9, restart, stop."""

    def __init__(
        self,
        db_url: str,
        instance: Path,
        *,
        app_spec: str | None = None,
        workers: int = WORKERS,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.instance = instance
        self.port = free_port()
        self.workers = workers
        instance.mkdir(parents=True, exist_ok=True)
        self.app_spec = app_spec or f"webapp:create_app({{'INSTANCE_PATH': {str(instance)!r}}})"
        self.env = {**os.environ, **BASE_ENV, "GAPMETER_DATABASE_URL": db_url, **(env or {})}
        self.env.pop("GAPMETER_REDIS_URL", None)
        self.log_path = instance / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            "--bind",
            f"{HOST}:{self.port}",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            self.app_spec,
        ]

    def start(self, timeout: float = 30.0) -> None:
        """Start gunicorn and wait until ``/health`` answers 200 (the database too)."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready after {timeout} s:\n{self.log()}")

    def pids(self) -> list[int]:
        """The master and its workers (everything in the server's process group)."""
        if self.process is None:
            return []
        group = self.process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[2]) == group and stat[0] != "Z":
                    found.append(int(entry.name))
        return found

    def kill(self) -> list[int]:
        """SIGKILL the master and every worker at once; return the pids killed."""
        assert self.process is not None
        pids = self.pids()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._close_log()
        return pids

    def stop(self) -> None:
        """A normal shutdown (SIGTERM to the master), SIGKILL if it does not end."""
        if self.process is None or self.process.poll() is not None:
            self._close_log()
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close_log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
