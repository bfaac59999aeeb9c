"""What the rebalance callbacks leave for the loop: they run inside `poll` or `close`, on the client's thread."""

from __future__ import annotations

import threading


class Rebalance:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked = False
        self._unpositioned = False

    def revoked(self) -> None:
        with self._lock:
            self._revoked = True

    def assigned(self) -> None:
        with self._lock:
            self._unpositioned = True

    def take_revoked(self) -> bool:
        """Whether partitions were revoked since the last call."""
        with self._lock:
            revoked, self._revoked = self._revoked, False
        return revoked

    @property
    def unpositioned(self) -> bool:
        """An assignment arrived: its partitions are positioned and a chain built before anything is taken."""
        return self._unpositioned

    def positioned(self) -> None:
        with self._lock:
            self._unpositioned = False
