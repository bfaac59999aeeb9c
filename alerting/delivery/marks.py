"""Claims and markers: who may send a message about an incident in a tick, and the seed-compatible markers.

Incident state lives in ClickHouse; what is here can be lost. `RedisMarks` shares claims between
evaluators; `LocalMarks` keeps them in the process (a dry run, a single evaluator without Redis).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from alerting.incidents.incidents import Incident
from alerting.rules.decisions import IncidentKey

log = logging.getLogger(__name__)


class RedisCommands(Protocol):
    """The part of redis-py's client that alerting uses; every method may raise redis.RedisError."""

    def set(self, name: str, value: str, *, ex: int | None = None, nx: bool = False) -> object: ...
    def delete(self, *names: str) -> object: ...


def redis_key(key: IncidentKey) -> str:
    """The seed's key: o11y:alert:{severity}:{slo}:{provider}:{model}:{client}."""
    return "o11y:alert:" + ":".join(key)


class Marks(Protocol):
    """No method raises; `down` says whether the store failed during this tick (messages then go out unclaimed)."""

    def begin_tick(self) -> None: ...
    @property
    def down(self) -> bool: ...
    def claim(self, tick: str, key: IncidentKey, kind: str) -> bool:
        """True when this evaluator may send the message (also when the store cannot tell)."""
        ...
    def release(self, tick: str, key: IncidentKey, kind: str) -> None: ...
    def mark(self, incident: Incident, cooldown_s: int) -> None:
        """The seed's marker of an open, notified incident, kept for a cooldown after its last refresh."""
        ...


class LocalMarks:
    """Claims in this process only: nothing leaves it."""

    def __init__(self) -> None:
        self.claims: set[str] = set()

    def begin_tick(self) -> None:
        pass

    @property
    def down(self) -> bool:
        return False

    def claim(self, tick: str, key: IncidentKey, kind: str) -> bool:
        name = f"{tick}:{kind}:{redis_key(key)}"
        if name in self.claims:
            return False
        self.claims.add(name)
        return True

    def release(self, tick: str, key: IncidentKey, kind: str) -> None:
        self.claims.discard(f"{tick}:{kind}:{redis_key(key)}")

    def mark(self, incident: Incident, cooldown_s: int) -> None:
        pass  # the seed's markers are for readers of Redis; without Redis nobody reads them


class RedisMarks:
    """Claims shared by every evaluator through Redis. The first Redis failure in a tick turns Redis off for the
    rest of that tick (one timeout, not one per incident), so a tick always finishes; failures are counted."""

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
