"""RunTask: a function applied to each message on the loop's thread, its result handed on with the message's offset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ingest.loading.steps.message import Message
from ingest.loading.steps.step import DeadLetterPolicy, InvalidMessage, ProcessingStep

T = TypeVar("T")
R = TypeVar("R")


class RunTask(Generic[T, R]):
    """`function` turns a message's payload into the next step's. When it raises `InvalidMessage`, the message goes to
    `dead_letters` and is handed on without a payload (so its offset still counts); without a policy it propagates.

    A message the next step rejected keeps its result: offered again, it is neither computed nor dead-lettered twice.
    """

    def __init__(
        self,
        function: Callable[[Message[T]], R],
        next_step: ProcessingStep[Message[R | None]],
        dead_letters: DeadLetterPolicy[T] | None = None,
    ) -> None:
        self._function, self._next, self._dead_letters = function, next_step, dead_letters
        self._rejected: Message[R | None] | None = None

    def submit(self, item: Message[T]) -> None:
        result = self._rejected
        if result is None or (result.partition, result.offset) != (item.partition, item.offset):
            result = self._apply(item)
        self._rejected = result
        self._next.submit(result)
        self._rejected = None

    def _apply(self, message: Message[T]) -> Message[R | None]:
        try:
            payload: R | None = self._function(message)
        except InvalidMessage as invalid:
            if self._dead_letters is None:
                raise
            self._dead_letters.invalid(message, invalid)
            payload = None
        else:
            if self._dead_letters is not None:
                self._dead_letters.valid(message)
        return Message(message.partition, message.offset, payload)

    def poll(self) -> None:
        self._next.poll()

    def join(self, timeout_s: float) -> bool:
        return self._next.join(timeout_s)

    def terminate(self) -> None:
        self._rejected = None
        self._next.terminate()

    def held_from(self, partition: int) -> int | None:
        return self._next.held_from(partition)
