"""What a step's unit test puts around it: a next step that keeps what it takes, and a clock moved by hand."""

from __future__ import annotations

from typing import Generic, TypeVar

from ingest.loading.steps.step import MessageRejected

T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Collect(Generic[T]):
    """The next step, as a test sees it: keeps what it takes; rejects while `full`."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self.full = False
        self.polls = 0
        self.terminated = False

    def submit(self, item: T) -> None:
        if self.full:
            raise MessageRejected
        self.items.append(item)

    def poll(self) -> None:
        self.polls += 1

    def join(self, timeout_s: float) -> bool:
        return not self.full

    def terminate(self) -> None:
        self.terminated = True

    def held_from(self, partition: int) -> int | None:
        return None
