"""Polling for something a background part will do soon; never a sleep for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout_s: float = 60.0, interval_s: float = 0.1) -> bool:
    """True once `predicate` holds; False when it still does not after `timeout_s` (a bound for a loaded machine, not
    a wait: a passing test returns as soon as it holds)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
