"""CommitOffsets: the end of every chain, committing the offsets an item covers once every step before it is done."""

from __future__ import annotations

import time
from collections.abc import Callable

from ingest.loading.steps.backoff import Backoff
from ingest.loading.steps.message import Covering
from ingest.loading.steps.step import MessageRejected


class CommitOffsets:
    """`commit` gets, per partition, the offset after the item's last one. A failed commit is tried again after the
    backoff; meanwhile `submit` rejects."""

    def __init__(self, commit: Callable[[dict[int, int]], None], backoff: Backoff) -> None:
        self._commit, self._backoff = commit, backoff
        self._offsets: dict[int, int] = {}

    def submit(self, item: Covering) -> None:
        if self._offsets:
            raise MessageRejected
        self._offsets = item.next_offsets()

    def poll(self) -> None:
        if not self._offsets or not self._backoff.due():
            return
        try:
            self._commit(self._offsets)
        except Exception as err:  # noqa: BLE001 - whatever failed (the broker, the dead letters): try again later
            self._backoff.failed(err)
            return
        self._backoff.succeeded()
        self._offsets = {}

    def join(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._offsets and time.monotonic() < deadline:
            self._backoff.sleep_until_due(deadline)
            self.poll()
        return not self._offsets

    def terminate(self) -> None:
        self._offsets = {}

    def held_from(self, partition: int) -> int | None:
        return None  # what reached this step is done: only its commit is pending
