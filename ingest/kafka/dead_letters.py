"""Messages that can never be loaded go to `<topic>-dlq`, with the reason, before their offset is committed."""

from __future__ import annotations

from typing import Any

from ingest.kafka.ports import Producer

Letter = tuple[bytes | None, bytes, list[tuple[str, bytes]], int | None]


class DeadLettersNotAcknowledged(Exception):
    """Some dead letters are not in the broker yet; do not commit past them."""


class DeadLetters:
    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._pending: list[tuple[Letter, Any]] = []
        self.sent = 0

    def send(self, key: bytes | None, value: bytes | None, reason: str, source: str, timestamp_ms: int | None = None) -> None:
        """Keeps the message's own timestamp, so that a fixed message produced back keeps its place in time."""
        letter: Letter = (key, value or b"", [("dlq_reason", reason.encode()), ("dlq_source", source.encode())], timestamp_ms)
        self._pending.append((letter, self._send(letter)))

    def _send(self, letter: Letter) -> Any:
        key, value, headers, timestamp_ms = letter
        return self._producer.send(self._topic, key=key, value=value, headers=headers, timestamp_ms=timestamp_ms)

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until the broker holds every dead letter; resend and raise for those it does not."""
        if not self._pending:
            return
        try:
            self._producer.flush(timeout=timeout_s)
        except Exception:  # noqa: BLE001 - judged per letter below
            pass
        unacknowledged = [letter for letter, future in self._pending if not (future.is_done and future.succeeded())]
        self.sent += len(self._pending) - len(unacknowledged)
        self._pending = [(letter, self._send(letter)) for letter in unacknowledged]
        if unacknowledged:
            raise DeadLettersNotAcknowledged(f"{len(unacknowledged)} dead letters not acknowledged")

    def drop(self) -> None:
        """Forget unflushed letters (their messages will be read and dead-lettered again)."""
        self._pending = []

    def close(self) -> None:
        self._producer.close(timeout=5)
