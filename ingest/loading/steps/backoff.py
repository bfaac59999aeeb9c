"""When to try a failing dependency again: doubling delays, a clock given from outside, the failure logged once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Backoff:
    """Doubling from `initial_s` up to `max_s`. Outlives the chains that use it, so a rebuilt chain keeps waiting."""

    def __init__(
        self, what: str, initial_s: float = 0.5, max_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what, self._initial_s, self._max_s, self._clock = what, initial_s, max_s, clock
        self._delay_s = 0.0
        self._retry_at = 0.0
        self.failing: str | None = None
        """Why the last attempt failed, while it keeps failing."""

    def failed(self, err: Exception) -> None:
        self._delay_s = min(self._max_s, max(self._initial_s, self._delay_s * 2))
        self._retry_at = self._clock() + self._delay_s
        if self.failing is None:
            log.error("%s failing, loading paused, retrying every ≤%.0fs: %s", self.what, self._max_s, err)
        self.failing = str(err)

    def succeeded(self) -> None:
        if self.failing is not None:
            log.info("%s back, loading resumed", self.what)
        self.failing = None
        self._delay_s = self._retry_at = 0.0

    def due(self) -> bool:
        return self._clock() >= self._retry_at

    def wait_s(self) -> float:
        return max(0.0, self._retry_at - self._clock())

    def sleep_until_due(self, deadline: float) -> None:
        """Sleep (a little at a time, at most until `deadline` on the monotonic clock) while waiting to try again."""
        time.sleep(max(0.0, min(max(self.wait_s(), 0.01), deadline - time.monotonic(), 0.5)))
