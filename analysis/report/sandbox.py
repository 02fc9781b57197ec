"""HTML → PDF in a child process with a wall-clock timeout and memory / CPU limits.

WeasyPrint can loop or eat memory on ordinary-looking text (security.md T11: issue #614, a long
word followed by non-breaking spaces; #1020; #2304) and its maintainers say there is no easy way to
detect that. So the layout runs in a child process that limits itself (``RLIMIT_AS``,
``RLIMIT_CPU``) and that the parent kills when the wall-clock limit passes. The child is forked
from a ``forkserver`` that has WeasyPrint imported already, so a render does not pay for the import.

The child's WeasyPrint log records travel back with the result and are logged again on the
parent's ``weasyprint`` logger, so callers and tests see every warning.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import time
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
    imported WeasyPrint once.

    As with any forkserver or spawn context, the program's main module must be importable
    without side effects (``if __name__ == "__main__":``)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["analysis.report.pdf"])
    return context


def render_isolated(html: str, css: str, limits: RenderLimits = DEFAULT_LIMITS) -> bytes:
    """The PDF of ``html`` (+ the report's ``css``), rendered in a limited child process.

    Raises ``RenderTimeoutError`` when the wall-clock limit passes (the child is killed) and
    ``RenderFailedError`` when the child runs out of memory or CPU time or fails.
    """
    context = forkserver()
    started = time.monotonic()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, html, css, limits), daemon=True)
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
