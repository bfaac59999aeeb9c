"""The dead man's switch: after every completed tick, O11Y_ALERT_HEARTBEAT_URL is called, so silence is noticed outside."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, url: str, on_failure: Callable[[], None] = lambda: None, timeout_s: float = 5.0) -> None:
        self._url = url
        self._on_failure = on_failure
        self._timeout_s = timeout_s

    def beat(self) -> None:
        """A GET to the URL (healthchecks.io, Dead Man's Snitch, Better Stack and the like accept it); never raises."""
        try:
            with urllib.request.urlopen(self._url, timeout=self._timeout_s) as response:
                response.read(1024)
        except Exception as err:  # noqa: BLE001 - the URL is a credential: only the kind of failure is logged
            self._on_failure()
            log.warning("heartbeat call failed (%s)", type(err).__name__)
