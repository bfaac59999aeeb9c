"""The dead-letter limit: the odd bad message goes to the DLQ, a broken producer stops the loader instead.

Without a limit, a bad deploy of a producer would dead-letter the whole topic silently. Per partition, more than
`max_run` invalid messages in a row, or more than `max_share` of the last `window` messages invalid, raises
`PoisonLimit` for the message that crosses the line: the loader stops there and commits nothing past it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


class PoisonLimit(Exception):
    """Too many invalid messages: a one-line reason naming the partition and the offset."""


@dataclass
class _Partition:
    seen: int = 0
    """Messages counted so far."""
    run: int = 0
    invalid: deque[int] = field(default_factory=deque)
    """The count (`seen`) at each invalid message of the last `window`: a valid message costs two assignments."""


class PoisonGuard:
    """One per assignment (the loader builds a chain of steps per assignment): a partition's next owner counts afresh."""

    def __init__(self, max_run: int = 1000, max_share: float = 0.5, window: int = 1000) -> None:
        self._max_run, self._max_share, self._window = max_run, max_share, window
        self._partitions: dict[int, _Partition] = {}

    def check(self, topic: str, partition: int, offset: int, invalid: bool) -> None:
        """Count one message; raise PoisonLimit when `invalid` crosses a limit (the message is then not taken)."""
        state = self._partitions.get(partition)
        if state is None:
            state = self._partitions[partition] = _Partition()
        state.seen += 1
        if not invalid:
            state.run = 0
            return
        state.run += 1
        recent = state.invalid
        recent.append(state.seen)
        while recent[0] <= state.seen - self._window:
            recent.popleft()
        if state.run > self._max_run:
            raise PoisonLimit(f"{state.run} invalid messages in a row in {topic}/{partition} up to offset {offset} "
                              f"(O11Y_LOADER_DLQ_MAX_RUN={self._max_run}): fix the producer, then restart the loader")
        share = len(recent) / self._window
        if state.seen >= self._window and share > self._max_share:
            raise PoisonLimit(f"{share:.0%} of the last {self._window} messages of {topic}/{partition} up to "
                              f"offset {offset} are invalid (O11Y_LOADER_DLQ_MAX_SHARE={self._max_share}): "
                              "fix the producer, then restart the loader")
