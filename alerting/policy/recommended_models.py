"""Page-eligible models from O11Y_RECOMMENDED_MODELS_URL: cached an hour, last good list on failure."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CACHE_KEY = "o11y:recommended-models"
LAST_GOOD_KEY = "o11y:recommended-models:last-good"
CACHE_SECONDS = 3600


def parse_models(raw: Any) -> frozenset[str] | None:
    """A JSON array of at least one non-empty string, else None."""
    try:
        value = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and value and all(isinstance(m, str) and m for m in value):
        return frozenset(value)
    return None


def http_fetch(url: str, timeout_s: float = 5.0) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return bytes(response.read())


class RecommendedModels:
    def __init__(self, url: str, redis: Any, fetch: Callable[[str], bytes] = http_fetch) -> None:
        self._url = url
        self._redis = redis
        self._fetch = fetch
        self._last_good: frozenset[str] | None = None

    def current(self) -> frozenset[str] | None:
        """The list to page for; None means no list is known, so every model may page."""
        cached = self._redis_get(CACHE_KEY)
        if cached is not None:
            self._last_good = cached
            return cached
        try:
            models = parse_models(self._fetch(self._url))
        except Exception as err:  # noqa: BLE001 - any failure falls back to the last good list
            log.warning("recommended models unavailable (%s); using the last good list", type(err).__name__)
            models = None
        if models is None:
            return self._redis_get(LAST_GOOD_KEY) or self._last_good
        self._last_good = models
        self._redis_set(models)
        return models

    def _redis_get(self, key: str) -> frozenset[str] | None:
        try:
            raw = self._redis.get(key)
        except Exception:  # noqa: BLE001 - Redis down: fetch or use memory
            return None
        return parse_models(raw) if raw is not None else None

    def _redis_set(self, models: frozenset[str]) -> None:
        payload = json.dumps(sorted(models))
        try:
            self._redis.set(CACHE_KEY, payload, ex=CACHE_SECONDS)
            self._redis.set(LAST_GOOD_KEY, payload)
        except Exception:  # noqa: BLE001 - the list still applies this tick
            log.warning("could not cache recommended models in Redis")
