"""The loader's strategy factory: on every assignment, a chain of generic steps built back to front."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ingest.kafka.ports import PolledRecord
from ingest.loading.clickhouse_sink import Inserted, InsertFailed
from ingest.loading.metrics import LoaderMetrics
from ingest.loading.rows import Row
from ingest.loading.steps.backoff import Backoff
from ingest.loading.steps.batch import Batch
from ingest.loading.steps.batching import BatchLimits, BatchStep
from ingest.loading.steps.commit import CommitOffsets
from ingest.loading.steps.message import Message
from ingest.loading.steps.run_task import RunTask
from ingest.loading.steps.run_task_in_thread import RunTaskInThread
from ingest.loading.steps.step import DeadLetterPolicy


@dataclass(frozen=True)
class LoadingFunctions:
    """What the steps are given, dependencies bound (`functools.partial`); see `ingest.loading.tasks`."""

    decode: Callable[[Message[PolledRecord]], Row]
    dead_letters: Callable[[], DeadLetterPolicy[PolledRecord]]
    """A fresh policy per chain: the dead-letter limit counts each assignment afresh."""
    row_bytes: Callable[[Row], int]
    largest_row: int
    insert: Callable[[Batch[Row], threading.Event], Inserted]
    count: Callable[[Batch[Row], Inserted | Exception], None]
    commit: Callable[[dict[int, int]], None]
    close: Callable[[], None]
    """Release what the functions hold (the dead-letter producer), once the loader stops."""


class Strategy:
    """A built chain: its head takes messages; `room`, `wait` and `revoke` reach the steps that know."""

    def __init__(self, head: RunTask[PolledRecord, Row], batching: BatchStep[Row],
                 insert: RunTaskInThread[Batch[Row], Inserted]) -> None:
        self._head, self._batching, self._insert = head, batching, insert

    def submit(self, item: Message[PolledRecord]) -> None:
        self._head.submit(item)

    def poll(self) -> None:
        self._head.poll()

    def join(self, timeout_s: float) -> bool:
        return self._head.join(timeout_s)

    def terminate(self) -> None:
        self._head.terminate()

    def held_from(self, partition: int) -> int | None:
        return self._head.held_from(partition)

    def room(self) -> int:
        return self._batching.room()

    def wait(self, timeout_s: float) -> None:
        self._insert.wait(timeout_s)

    def revoke(self, wait_s: float) -> None:
        """Let the insert in flight land (so the next owner sees it in ClickHouse), waiting at most `wait_s`; past that,
        it sends no further block."""
        self._insert.wait(wait_s)
        self._insert.abandon()


class StrategyFactory:
    """Builds a chain for each assignment, whose phases are, in order:

    - dead-letter and decode (`RunTask`): a message to a row; one that can never be loaded goes to `<topic>-dlq`, up
      to the dead-letter limit, which a fresh policy counts afresh for each chain;
    - collect (`BatchStep`): rows into batches by rows, bytes and age; a replay range (a crash between insert and
      commit, see `positioning.start_of`) is cut exactly at its end, so it is inserted again as the very same block;
    - insert (`RunTaskInThread`): on the worker thread while the next batch fills, retried after a backoff;
    - commit (`CommitOffsets`): the dead letters first, then the offsets.

    The worker thread and the backoffs outlive the chains. One worker: an insert from a dropped chain ends before the
    next chain's begins, and what else runs there (`after_insert`) waits for the insert in flight.
    """

    def __init__(self, functions: LoadingFunctions, limits: BatchLimits, clickhouse: Backoff, broker: Backoff,
                 metrics: LoaderMetrics, clock: Callable[[], float] = time.monotonic) -> None:
        self._functions, self._limits, self._clock, self._metrics = functions, limits, clock, metrics
        self._clickhouse, self._broker = clickhouse, broker
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loader-insert")

    def create(self, replay_until: Mapping[int, int]) -> Strategy:
        """Back to front: commit ← insert ← collect ← decode, for an assignment with these replay ranges."""
        f = self._functions
        commit = CommitOffsets(f.commit, self._broker)
        insert: RunTaskInThread[Batch[Row], Inserted] = RunTaskInThread(
            f.insert, self._worker, self._clickhouse, commit, InsertFailed, f.count)
        batching = BatchStep(self._limits, insert, f.row_bytes, f.largest_row, replay_until, self._clock)
        head: RunTask[PolledRecord, Row] = RunTask(f.decode, batching, f.dead_letters())
        self._metrics.assignments.inc()
        return Strategy(head, batching, insert)

    @property
    def failing(self) -> str | None:
        """What makes loading pause ("ClickHouse", "offset commit"), or None. The errors themselves are logged."""
        return " and ".join(b.what for b in (self._clickhouse, self._broker) if b.failing is not None) or None

    def after_insert(self, work: Callable[[], None]) -> None:
        """Run `work` on the worker thread, after the insert in flight, off the loop's thread."""
        self._worker.submit(work)

    def wait_for_insert(self, timeout_s: float) -> None:
        """Wait, at most `timeout_s`, until the insert running (if any) ended, landed or not, even one whose chain was
        dropped. Raises TimeoutError when it did not end in time."""
        self._worker.submit(lambda: None).result(timeout_s)

    def close(self) -> None:
        self._worker.shutdown(wait=True)
        self._functions.close()
