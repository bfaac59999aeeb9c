"""BatchStep: messages into batches, cut by count, size or age, and exactly after the offsets it is told to cut at."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from ingest.loading.steps.batch import Batch
from ingest.loading.steps.message import Message
from ingest.loading.steps.step import MessageRejected, ProcessingStep

T = TypeVar("T")


@dataclass(frozen=True)
class BatchLimits:
    count: int = 50_000
    """Payloads per batch."""
    age_s: float = 1.0
    bytes: int = 16 * 1024 * 1024
    """The payloads' size per batch (as `size_of` measures it): memory stays bounded whatever their size."""


class BatchStep(Generic[T]):
    """A batch is cut once full or old, and right after an offset of `cut_after` (never by age while such a cut is
    still to come in that partition). One cut batch waits here while the next step is busy; with it waiting and the
    filling batch full, `submit` rejects. `largest` is the size a payload may have, assumed until payloads are seen.
    """

    def __init__(self, limits: BatchLimits, next_step: ProcessingStep[Batch[T]], size_of: Callable[[T], int],
                 largest: int, cut_after: Mapping[int, int], clock: Callable[[], float] = time.monotonic) -> None:
        self._limits, self._next, self._size_of, self._clock = limits, next_step, size_of, clock
        self._cut_after = dict(cut_after)
        self._batch: Batch[T] = Batch()
        self._sealed: Batch[T] | None = None
        self._cut = False
        self._payload_size = largest

    def _full(self) -> bool:
        return len(self._batch.payloads) >= self._limits.count or self._batch.size >= self._limits.bytes

    def submit(self, item: Message[T | None]) -> None:
        if self._cut or self._full():
            self._seal()
            if self._cut or self._full():
                raise MessageRejected
        payload = item.payload
        self._batch.take(item, 0 if payload is None else self._size_of(payload), self._clock())
        if self._cut_after.get(item.partition) == item.offset:
            del self._cut_after[item.partition]
            self._cut = True
            self._seal()

    def _seal(self) -> None:
        """The filling batch becomes the sealed one, if that slot is free; then the sealed one is offered on."""
        if self._sealed is None and self._batch:
            self._sealed, self._batch, self._cut = self._batch, Batch(), False
        if self._sealed is not None:
            try:
                self._next.submit(self._sealed)
            except MessageRejected:
                return
            self._sealed = None
            if self._cut and self._batch:  # the cut was waiting for the slot
                self._sealed, self._batch, self._cut = self._batch, Batch(), False

    def _due(self) -> bool:
        batch = self._batch
        if self._full() or self._cut:
            return True
        if not batch or any(p in self._cut_after for p in batch.ranges):
            return False
        now = self._clock()
        return now - (batch.started_at or now) >= self._limits.age_s

    def poll(self) -> None:
        if self._sealed is not None or self._due():
            self._seal()
        self._next.poll()
        if self._sealed is not None:
            self._seal()

    def room(self) -> int:
        """Messages that still fit the size budget at the payload size seen so far, so one poll cannot overshoot."""
        batch = self._batch
        if batch.payloads:
            self._payload_size = max(1, batch.size // len(batch.payloads))
        return max(1, (self._limits.bytes - batch.size) // self._payload_size + 1)

    def join(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self._seal()
            if self._sealed is None and not self._batch:
                return self._next.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline or not self._next.join(max(0.0, deadline - time.monotonic())):
                return False

    def terminate(self) -> None:
        self._batch, self._sealed, self._cut = Batch(), None, False
        self._next.terminate()

    def held_from(self, partition: int) -> int | None:
        held = [b.first_offset(partition) for b in (self._batch, self._sealed) if b is not None]
        held.append(self._next.held_from(partition))
        return min((offset for offset in held if offset is not None), default=None)
