"""RunTaskInThread: a task run on a worker thread, one item at a time, retried after a backoff, then the item handed on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import wait as futures_wait
from typing import Generic, TypeVar

from ingest.loading.steps.backoff import Backoff
from ingest.loading.steps.message import Covering
from ingest.loading.steps.step import MessageRejected, ProcessingStep

Item = TypeVar("Item", bound=Covering)
R = TypeVar("R")


class RunTaskInThread(Generic[Item, R]):
    """`task(item, abandoned)` runs on the executor's thread while the loop goes on. When it returns, the item goes to
    the next step; when it raises `retry_on`, the same item runs again once `backoff` allows. Either way `on_done(item,
    outcome)` is told first, on the loop's thread, with what the task returned or raised. A task starts only once the
    next step holds nothing, and `submit` rejects while an item is running, retrying or waiting for the next step: at
    most one item is done and not yet committed. `abandoned` is set when the partitions are revoked while the task
    runs: it may stop early."""

    def __init__(self, task: Callable[[Item, threading.Event], R], executor: Executor, backoff: Backoff,
                 next_step: ProcessingStep[Item], retry_on: type[Exception],
                 on_done: Callable[[Item, R | Exception], None] = lambda item, outcome: None) -> None:
        self._task, self._executor, self._backoff, self._next = task, executor, backoff, next_step
        self._retry_on, self._on_done = retry_on, on_done
        self._item: Item | None = None
        self._running: Future[R] | None = None
        self._abandoned = threading.Event()
        self._done = False

    def submit(self, item: Item) -> None:
        if self._item is not None:
            raise MessageRejected
        self._item, self._abandoned = item, threading.Event()
        self._start()

    def _start(self) -> None:
        """Start the task, unless the next step still holds the previous item (then at a later poll)."""
        if self._item is not None and self._running is None and not self._done and self._next.join(0.0):
            self._running = self._executor.submit(self._task, self._item, self._abandoned)

    def _advance(self) -> None:
        running, item = self._running, self._item
        if running is not None and running.done() and item is not None:
            self._running = None
            try:
                result = running.result()
            except self._retry_on as err:
                self._on_done(item, err)
                self._backoff.failed(err)
            else:
                self._backoff.succeeded()
                self._done = True
                self._on_done(item, result)
        if item is not None and self._done:
            try:
                self._next.submit(item)
            except MessageRejected:
                return
            self._item, self._done = None, False
        elif self._backoff.due():
            self._start()

    def poll(self) -> None:
        self._advance()
        self._next.poll()
        self._advance()

    def wait(self, timeout_s: float) -> None:
        """Wait, at most `timeout_s`, for the task running on the worker thread (if any) to end."""
        running = self._running
        if running is not None:
            futures_wait([running], timeout=timeout_s)

    def join(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._item is not None:
            self.wait(max(0.0, deadline - time.monotonic()))
            self.poll()
            if self._item is None or time.monotonic() >= deadline:
                break
            if self._running is None:
                self._backoff.sleep_until_due(deadline)
        return self._item is None and self._next.join(max(0.0, deadline - time.monotonic()))

    def abandon(self) -> None:
        """The partitions are being revoked: tell the running task. Only sets a flag, so any thread may call it."""
        if self._item is not None and self._running is not None:
            self._abandoned.set()

    def terminate(self) -> None:
        self.abandon()
        self._item, self._running, self._done = None, None, False
        self._next.terminate()

    def held_from(self, partition: int) -> int | None:
        if self._item is not None and not self._done and (first := self._item.first_offset(partition)) is not None:
            return first
        return self._next.held_from(partition)
