"""The failures a stand-in server plays on demand, one per request in order, before it answers normally again."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    status: int = 0
    """Answer with this HTTP status and record nothing (0: no status of its own)."""
    error: str = ""
    """The error a JSON answer names (Slack's `ok: false` code), if the service names one."""
    retry_after: str = ""
    """The Retry-After header to send with the status, if any."""
    hang: bool = False
    """Do the work (the service did it: the message shows, the event is processed), then never answer."""
    method: str = ""
    """Only a request to this method plays the fault ("" = any request)."""


class FaultQueue:
    """Thread-safe: a test adds faults from its own thread while the server's loop takes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._generation = 0

    def add(self, fault: Fault, times: int) -> None:
        with self._lock:
            self._queue.extend([fault] * times)

    def take(self, method: str = "") -> Fault | None:
        """The first queued fault for this method (or for any method), removed from the queue; None when none is."""
        with self._lock:
            for fault in self._queue:
                if fault.method in ("", method):
                    self._queue.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Drop the queued faults and let the requests left hanging finish (their clients have long given up)."""
        with self._lock:
            self._queue.clear()
            self._generation += 1

    async def hang(self) -> None:
        """A request that gets no answer, as far as its client can tell: held until the next clear() (a reset of the
        stand-in, or its end), so that no handler outlives the server."""
        generation = self._generation
        while self._generation == generation:
            await asyncio.sleep(0.05)
