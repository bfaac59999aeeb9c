"""A batch: the payloads of the messages taken together, and the range of offsets they cover per partition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ingest.loading.steps.message import Message

T = TypeVar("T")


@dataclass(eq=False)
class Batch(Generic[T]):
    payloads: list[T] = field(default_factory=list)
    """The payloads taken, in order; a message without one (dead-lettered) adds none."""
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """partition -> (first offset, last offset) of every message taken, with a payload or without."""
    size: int = 0
    """The payloads' size as the batching step measured it (bytes, for the loader)."""
    started_at: float | None = None

    def take(self, message: Message[T | None], size: int, now: float) -> None:
        if self.started_at is None:
            self.started_at = now
        if message.payload is not None:
            self.payloads.append(message.payload)
            self.size += size
        first, _ = self.ranges.get(message.partition, (message.offset, message.offset))
        self.ranges[message.partition] = (first, message.offset)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def first_offset(self, partition: int) -> int | None:
        covered = self.ranges.get(partition)
        return None if covered is None else covered[0]

    def next_offsets(self) -> dict[int, int]:
        return {p: last + 1 for p, (_, last) in self.ranges.items()}
