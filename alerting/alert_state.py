"""Dedup, suppression, claims and open alerts in Redis, under the seed's key names."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

AlertKey = tuple[str, str, str, str, str]
"""(severity, slo, provider, model, client)"""

ACTIVE_HASH = "o11y:alerts:open"


def redis_key(key: AlertKey) -> str:
    return "o11y:alert:" + ":".join(key)


class AlertState:
    """The Redis side of alerting. Every method may raise redis.RedisError; callers decide what degraded means."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis

    def suppressed(self, key: AlertKey) -> bool:
        """A marker of the same severity suppresses; for a ticket, the page marker of the dimension too."""
        names = [redis_key(key)]
        if key[0] == "ticket":
            names.append(redis_key(("page", key[1], key[2], key[3], key[4])))
        return bool(self._redis.exists(*names))

    def claim(self, tick: str, key: AlertKey, ttl_s: int = 300) -> bool:
        """Only one evaluator of a tick may notify for a key."""
        return bool(self._redis.set(f"o11y:claim:{tick}:{redis_key(key)}", "1", nx=True, ex=ttl_s))

    def release(self, tick: str, key: AlertKey) -> None:
        self._redis.delete(f"o11y:claim:{tick}:{redis_key(key)}")

    def mark_fired(self, key: AlertKey, cooldown_s: int, fired_at: str, tier: str) -> None:
        """Written only after Slack accepted the message."""
        pipe = self._redis.pipeline()
        pipe.set(redis_key(key), fired_at, ex=cooldown_s)
        pipe.hset(ACTIVE_HASH, redis_key(key), json.dumps({"key": list(key), "tier": tier, "fired_at": fired_at}))
        pipe.execute()

    def open_alerts(self) -> list[tuple[AlertKey, str]]:
        """Notified alerts not yet resolved: (key, tier name)."""
        out = []
        for raw in self._redis.hvals(ACTIVE_HASH):
            entry = json.loads(raw)
            out.append((tuple(entry["key"]), entry["tier"]))
        return out  # type: ignore[return-value]

    def close(self, key: AlertKey) -> None:
        self._redis.hdel(ACTIVE_HASH, redis_key(key))


class LocalCooldowns:
    """While Redis is down: remember what this process sent, so a page goes out once per cooldown, not every tick."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._until: dict[AlertKey, float] = {}
        self._clock = clock

    def suppressed(self, key: AlertKey) -> bool:
        keys: list[AlertKey] = [key]
        if key[0] == "ticket":
            keys.append(("page", key[1], key[2], key[3], key[4]))
        now = self._clock()
        return any(self._until.get(k, 0) > now for k in keys)

    def mark_fired(self, key: AlertKey, cooldown_s: int) -> None:
        self._until[key] = self._clock() + cooldown_s
