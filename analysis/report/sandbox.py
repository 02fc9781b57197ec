"""HTML → PDF in a child process with a wall-clock timeout and memory / CPU limits.

WeasyPrint can loop or eat memory on ordinary-looking text (security.md T11: issue #614, a long
word followed by non-breaking spaces; #1020; #2304) and its maintainers say there is no easy way to
detect that. So the layout runs in a child process that limits itself (``RLIMIT_AS``,
``RLIMIT_CPU``) and that the parent kills when the wall-clock limit passes. The child is forked
from a ``forkserver`` that has WeasyPrint imported already, so a render does not pay for the import.

The child's WeasyPrint log records travel back with the result and are logged again on the
parent's ``weasyprint`` logger, so callers and tests see every warning.

Two things keep a render fast: ``warm_up`` starts the forkserver (which imports WeasyPrint,
about 0.7 s) while the caller is still analysing and drawing charts, and children are started
without the program's main module (multiprocessing would otherwise run the main script again in
every child: for ``gapmeter`` that imports the whole CLI and web app, about 2 s per render).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from analysis.report.voice import ReportError

LOGGER = logging.getLogger("weasyprint")  # the child's WeasyPrint records are re-logged here
TIMING = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Limits for one render: wall clock (s), CPU time (s) and address space (bytes)."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 1024**3


DEFAULT_LIMITS = RenderLimits()


class RenderFailedError(ReportError):
    """The PDF could not be rendered within the limits (or the renderer failed)."""


class RenderTimeoutError(RenderFailedError):
    """The render passed its wall-clock limit and was killed."""


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != "weasyprint.progress":  # "Step 1 - Fetching...": not a finding
            self.records.append((record.levelno, record.getMessage()))


def _limit_self(limits: RenderLimits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _child(conn: Connection, html: str, css: str, limits: RenderLimits) -> None:
    """Runs in the child: limit itself, render, send ``(status, payload, log records, CPU s)``."""
    collector = _Collector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        _limit_self(limits)
        from analysis.report.pdf import html_to_pdf  # imported in the forkserver already

        pdf = html_to_pdf(html, css)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(("ok", pdf, collector.records, usage.ru_utime + usage.ru_stime))
    except MemoryError:
        conn.send(("error", "out of memory", collector.records, 0.0))
    except BaseException as error:  # everything is reported to the parent
        conn.send(("error", f"{type(error).__name__}: {error}"[:500], collector.records, 0.0))
    finally:
        conn.close()


def forkserver() -> Any:
    """The multiprocessing context the render children fork from: a server process that has
    imported WeasyPrint once (and nothing of the program that asks for the render)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["analysis.report.pdf"])
    return context


def warm_up() -> None:
    """Start the forkserver now, so that its WeasyPrint import overlaps the caller's own work
    (the analysis, the charts); ``render_isolated`` does it anyway. Cheap when it runs."""
    forkserver()
    multiprocessing.forkserver.ensure_running()


_STARTING = threading.Lock()


@contextmanager
def _without_main_module() -> Iterator[None]:
    """Start a child without telling it the main module. The child's target (``_child``) lives
    in this module, so it needs nothing of ``__main__``; multiprocessing would otherwise run the
    main script again in the child (as ``__mp_main__``). ``__main__``'s ``__spec__`` and
    ``__file__`` are hidden while one child starts (the lock serialises starts)."""
    main = sys.modules["__main__"]
    missing = object()
    with _STARTING:
        saved = {name: main.__dict__.get(name, missing) for name in ("__spec__", "__file__")}
        main.__dict__["__spec__"] = None
        main.__dict__.pop("__file__", None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is missing:
                    main.__dict__.pop(name, None)
                else:
                    main.__dict__[name] = value


def render_isolated(html: str, css: str, limits: RenderLimits = DEFAULT_LIMITS) -> bytes:
    """The PDF of ``html`` (+ the report's ``css``), rendered in a limited child process.

    Raises ``RenderTimeoutError`` when the wall-clock limit passes (the child is killed) and
    ``RenderFailedError`` when the child runs out of memory or CPU time or fails.
    """
    context = forkserver()
    started = time.monotonic()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, html, css, limits), daemon=True)
    with _without_main_module():
        child.start()
    send.close()
    try:
        if not receive.poll(limits.wall_seconds):
            raise RenderTimeoutError(
                f"report rendering took longer than {limits.wall_seconds:g} s and was stopped"
            )
        try:
            status, payload, records, cpu = receive.recv()
        except EOFError:
            child.join(5)
            raise RenderFailedError(
                f"report renderer stopped (exit code {child.exitcode}); "
                "it probably reached its memory or CPU limit"
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receive.close()
    for level, message in records:
        LOGGER.log(level, "%s", message)
    if status != "ok":
        raise RenderFailedError(f"report rendering failed: {payload}")
    TIMING.debug(
        "rendered %d bytes in %.2f s (render child: %.2f s CPU)",
        len(payload),
        time.monotonic() - started,
        cpu,
    )
    return bytes(payload)
