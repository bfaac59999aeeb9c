"""What travels between steps: a payload with the offsets it covers, so each step can tell what to commit."""

from __future__ import annotations

from typing import Generic, NamedTuple, Protocol, TypeVar

T_co = TypeVar("T_co", covariant=True)


class Covering(Protocol):
    """An item that covers offsets: a message its own, a batch those of every message it took."""

    def first_offset(self, partition: int) -> int | None:
        """The first offset of `partition` covered, or None."""
        ...

    def next_offsets(self) -> dict[int, int]:
        """Per partition covered, the offset after the last one: what to commit once the item is done."""
        ...


class Message(NamedTuple, Generic[T_co]):
    """One message's payload (as polled, or what a task made of it) with its partition and offset.

    A payload of None means there is nothing to process (the message went to the dead letters), but its offset
    still counts as handled.
    """

    partition: int
    offset: int
    payload: T_co

    def first_offset(self, partition: int) -> int | None:
        return self.offset if partition == self.partition else None

    def next_offsets(self) -> dict[int, int]:
        return {self.partition: self.offset + 1}
