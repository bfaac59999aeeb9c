"""The loop's intake: messages polled but not taken by the chain yet, and where each partition's loading has got to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ingest.kafka.ports import Consumer, Partition, PolledRecord
from ingest.loading.poison_guard import PoisonLimit
from ingest.loading.steps.message import Message
from ingest.loading.steps.step import MessageRejected, ProcessingStep


class Intake:
    def __init__(self) -> None:
        self.held: list[tuple[Partition, list[Message[PolledRecord]]]] = []
        """Messages polled but not taken yet (a step rejected one): offered again before anything new is fetched."""
        self._next: dict[Partition, int] = {}
        """Per assigned partition, the offset after the last message the chain took (where it was positioned, before
        any): once nothing is held or in flight, everything before it is in ClickHouse. Kept here, since a client's own
        position is unknown until a partition fetches a message (librdkafka), so an idle partition would never be
        caught up."""

    def hold(self, polled: Mapping[Partition, Sequence[PolledRecord]]) -> None:
        self.held = [(p, [Message(p.number, record.offset, record) for record in records]) for p, records in polled.items()]

    def offer(self, chain: ProcessingStep[Message[PolledRecord]] | None) -> None:
        """Offer what is held, in order, until the chain rejects a message (then it and the rest stay held)."""
        while self.held and chain is not None:
            partition, messages = self.held[0]
            for i, message in enumerate(messages):
                try:
                    chain.submit(message)
                except MessageRejected:
                    self.held[0] = (partition, messages[i:])
                    return
                except PoisonLimit:
                    self.held = []  # nothing from here on is taken, so none of it is committed
                    raise
                self._next[partition] = message.offset + 1
            self.held.pop(0)

    def rewind(self, consumer: Consumer) -> None:
        """Seek back to what is held and drop it: it is read again (once the partitions are positioned)."""
        for partition, messages in self.held:
            consumer.seek(partition, messages[0].offset)
        self.held = []

    def drop(self) -> None:
        self.held = []

    def positioned(self, next_offsets: dict[Partition, int]) -> None:
        self._next = next_offsets

    def loaded_next(self, partition: Partition, in_chain: int | None) -> int | None:
        """The next offset of `partition` not yet in ClickHouse, given the first one the chain holds (`in_chain`)."""
        held = [messages[0].offset for p, messages in self.held if p == partition]
        if in_chain is not None:
            held.append(in_chain)
        return min(held) if held else self._next.get(partition)
