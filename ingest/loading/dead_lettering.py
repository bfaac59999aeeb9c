"""The loader's dead-letter policy: every message counted against the dead-letter limit, invalid ones sent on."""

from __future__ import annotations

from collections.abc import Callable

from ingest.kafka.ports import PolledRecord
from ingest.loading.poison_guard import PoisonGuard
from ingest.loading.steps.message import Message
from ingest.loading.steps.step import InvalidMessage


class DeadLettering:
    """One per assignment, with a fresh `guard`: a partition's next owner counts afresh. `send(message, reason)` queues
    the dead letter (`ingest.loading.tasks.dead_letter`)."""

    def __init__(self, topic: str, guard: PoisonGuard, send: Callable[[Message[PolledRecord], str], None]) -> None:
        self._topic, self._guard, self._send = topic, guard, send

    def valid(self, message: Message[PolledRecord]) -> None:
        self._guard.check(self._topic, message.partition, message.offset, invalid=False)

    def invalid(self, message: Message[PolledRecord], error: InvalidMessage) -> None:
        """Raises `PoisonLimit` for the message that crosses the limit, sending nothing."""
        self._guard.check(self._topic, message.partition, message.offset, invalid=True)
        self._send(message, error.reason)
