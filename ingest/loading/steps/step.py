"""The contract every processing step keeps, written once, and the exceptions that steer the loop."""

from __future__ import annotations

from typing import Protocol, TypeVar

from ingest.loading.steps.message import Message

T_contra = TypeVar("T_contra", contravariant=True)


class MessageRejected(Exception):
    """Backpressure: the step cannot take this item now. Nothing of it was kept; offer the same item again later."""


class InvalidMessage(Exception):
    """The message can never be processed: it belongs in the dead letters, with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProcessingStep(Protocol[T_contra]):
    """One step of a chain. Each takes the next one when it is built, so a chain is built back to front, afresh for
    every assignment; the commit step is always last. Every call comes from the loop's own thread.

    - `submit(item)` takes one item and hands on what is ready. It waits on nothing (no broker, no database: a dead
      letter is only queued). It raises `MessageRejected` when the step cannot take the item now; the caller offers
      the same item again after a `poll`. A dead-letter policy may raise its limit for the message that crosses it:
      that message was not taken, and the caller stops.
    - `poll()` moves finished work on (a task that ended goes to the next step) and starts what is due (a batch old
      enough to hand on, a retry whose backoff has passed). It never waits for a worker thread; the commit step
      makes its broker calls here, bounded by the client's request timeout.
    - `join(timeout_s)` hands everything held to the end of the chain and waits, at most `timeout_s` seconds, until
      it is done and committed; True when nothing is held any more.
    - `terminate()` drops everything held at once (the partitions were revoked: their next owner reads again what
      was not committed). A task already running on a worker thread still finishes there.
    - `held_from(partition)` is the first offset of `partition` held by this step or a later one and not yet done
      (for the loader: not yet in ClickHouse), or None.
    """

    def submit(self, item: T_contra) -> None: ...
    def poll(self) -> None: ...
    def join(self, timeout_s: float) -> bool: ...
    def terminate(self) -> None: ...
    def held_from(self, partition: int) -> int | None: ...


class DeadLetterPolicy(Protocol[T_contra]):
    """Where invalid messages go, and how many may: told of every message a task ran on, valid or not.

    `invalid` sends the message to the dead letters (queued: it waits on nothing) unless it crosses the limit; then it
    raises, sending nothing. `valid` counts the message towards the limit's share.
    """

    def valid(self, message: Message[T_contra]) -> None: ...
    def invalid(self, message: Message[T_contra], error: InvalidMessage) -> None: ...
