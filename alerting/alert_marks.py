"""Redis for alerting: per-tick claims so that racing evaluators post once, and the seed-compatible markers.

Incident state lives in ClickHouse; Redis holds nothing that cannot be lost. No call here raises: a Redis
failure is counted, and the first one in a tick turns Redis off for the rest of that tick (one timeout, not
one per incident), so a tick always finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from alerting.decisions import IncidentKey
from alerting.incidents import Incident

log = logging.getLogger(__name__)


class RedisCommands(Protocol):
    """The part of redis-py's client that alerting uses; every method may raise redis.RedisError."""

    def set(self, name: str, value: str, *, ex: int | None = None, nx: bool = False) -> object: ...
    def delete(self, *names: str) -> object: ...


def redis_key(key: IncidentKey) -> str:
    """The seed's key: o11y:alert:{severity}:{slo}:{provider}:{model}:{client}."""
    return "o11y:alert:" + ":".join(key)


class AlertMarks:
    def __init__(self, redis: RedisCommands, on_degraded: Callable[[], None] = lambda: None) -> None:
        self._redis = redis
        self._on_degraded = on_degraded
        self._down = False

    def begin_tick(self) -> None:
        self._down = False

    @property
    def down(self) -> bool:
        """Redis failed during this tick."""
        return self._down

    def _call(self, what: str, action: Callable[[], object]) -> object | None:
        if self._down:
            return None
        try:
            return action()
        except Exception as err:  # noqa: BLE001 - redis errors, timeouts, refused connections alike
            self._down = True
            self._on_degraded()
            log.error("Redis unavailable during %s (%s): going on without it for this tick", what, type(err).__name__)
            return None

    def claim(self, tick: str, key: IncidentKey, kind: str) -> bool:
        """Only one evaluator of a tick may send a message about an incident; without Redis, send anyway."""
        name = f"o11y:claim:{tick}:{kind}:{redis_key(key)}"
        result = self._call("claim", lambda: self._redis.set(name, "1", nx=True, ex=300))
        return True if self._down else bool(result)

    def release(self, tick: str, key: IncidentKey, kind: str) -> None:
        self._call("release", lambda: self._redis.delete(f"o11y:claim:{tick}:{kind}:{redis_key(key)}"))

    def mark(self, incident: Incident, cooldown_s: int) -> None:
        """The seed's marker, refreshed every tick while the incident is open: it expires a cooldown after the resolve."""
        value = incident.opened_at.isoformat()
        self._call("marker", lambda: self._redis.set(redis_key(incident.key), value, ex=cooldown_s))
