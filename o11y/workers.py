"""Several processes of one service sharing its port: `o11y ingest --workers N`, `o11y load --workers N`.

Each worker is a whole process of the service (its own event loop, its own Kafka producer or group member), bound to
the same port with SO_REUSEPORT, so the kernel spreads connections across them and every core works. The parent only
supervises: SIGTERM or SIGINT is passed on and each worker drains as a single process does (stops accepting, answers
what it holds, flushes its producer or commits its batches); a worker that dies on its own stops the others and the
parent exits non-zero, so that the orchestrator restarts the whole unit rather than run it short of a worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

from runtime.settings import Settings

log = logging.getLogger(__name__)

Serve = Callable[[Settings], int]


def worker_count(wanted: int | None) -> int:
    """`wanted`, or the cores this process may run on."""
    if wanted is not None:
        return wanted
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _child(serve: Serve, settings: Settings, index: int) -> None:
    from prometheus_client import multiprocess

    try:
        code = serve(settings)
    finally:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
    raise SystemExit(code)


def run_workers(serve: Serve, settings: Settings, workers: int, drain_s: float) -> int:
    """Run `serve` in `workers` processes (in this one when 1) until a signal; their worst exit code."""
    if workers <= 1:
        return serve(settings)
    shared = settings.model_copy(update={"http_reuse_port": True})
    metrics_dir = tempfile.mkdtemp(prefix="o11y-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # the workers' counters, summed on /metrics
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_child, args=(serve, shared, i), name=f"o11y-worker-{i}") for i in range(workers)]
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start()
        log.info("%d workers on port %d: %s", workers, settings.http_port, ", ".join(str(c.pid) for c in children))
        while not stopping and all(c.exitcode is None for c in children):
            wait([c.sentinel for c in children], timeout=1.0)
        crashed = not stopping
        if crashed:
            dead = next(c for c in children if c.exitcode is not None)
            log.error("worker %s exited (code %s): stopping the others", dead.pid, dead.exitcode)
            stop(signal.SIGTERM, None)
        deadline = time.monotonic() + drain_s + 5
        for child in children:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.exitcode is None:
                log.error("worker %s did not drain in time: killed", child.pid)
                child.kill()
                child.join()
        codes = [c.exitcode or 0 for c in children]
        return 1 if crashed or any(code < 0 for code in codes) else max(codes)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(metrics_dir, ignore_errors=True)
