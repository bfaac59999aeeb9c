"""Latency thresholds the per-minute rollup counts exactly; SLO thresholds on these are evaluated from it."""

from __future__ import annotations

LATENCY_BOUNDS_MS: tuple[int, ...] = (
    100, 250, 500, 1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 180000, 300000,
)
"""Element i of a rollup's `*_over` array counts requests with latency strictly greater than bound i."""

BOUNDS_ARRAY = "[" + ", ".join(str(b) for b in LATENCY_BOUNDS_MS) + "]"
"""The bounds as a ClickHouse array literal, for the rollup's view, the tick's raw query and `o11y_count_over`."""


def bound_index(threshold_ms: int) -> int | None:
    """Position of `threshold_ms` in the rollup's arrays, or None when only the raw table can answer."""
    try:
        return LATENCY_BOUNDS_MS.index(threshold_ms)
    except ValueError:
        return None
