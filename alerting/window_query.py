"""The one query per tick: bad and total counts of every SLO window, per dimension (SQL text only, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from alerting.burn_rate import WindowCount
from schemas.latency_buckets import bound_index
from schemas.slo_spec import AlertPolicy, SloSpec

Dimension = tuple[str, str, str]
"""(provider, model, client), the seed's order."""


@dataclass(frozen=True)
class WindowCounts:
    """Counts per (slo, window minutes), and observed p50/p90 per (slo, window minutes) for latency SLOs."""

    counts: dict[tuple[str, int], WindowCount]
    percentiles: dict[tuple[str, int], tuple[float, float]]


def window_end(now: datetime) -> datetime:
    """Windows end at the start of the current minute: only complete minutes are judged."""
    now = now.astimezone(timezone.utc)
    return now.replace(second=0, microsecond=0)


def _minutes_of(slo: SloSpec) -> list[int]:
    return sorted({m for w in slo.windows for m in (w.long_minutes, w.short_minutes)})


def uses_rollup(policy: AlertPolicy) -> bool:
    """The rollup is exact only for latency thresholds that are among its bucket bounds."""
    return all(slo.latency is None or bound_index(slo.latency.threshold_ms) is not None for slo in policy.slos)


def _status_predicate(slo: SloSpec) -> str:
    return "(" + " OR ".join(f"status_code BETWEEN {a} AND {b}" for a, b in slo.status_ranges()) + ")"


def _columns(slo: SloSpec, minutes: int, end: str, rollup: bool) -> list[str]:
    """Total and bad counts of one window; observed percentiles only for long windows (the message shows those)."""
    wants_percentiles = any(w.long_minutes == minutes for w in slo.windows)
    time_col = "minute" if rollup else "received_at"
    cond = f"{time_col} >= {end} - INTERVAL {minutes} MINUTE"
    if not slo.include_byok:
        cond += " AND NOT user_byok"
    name = f"{slo.name}_{minutes}"
    total = f"sumIf(requests, {cond})" if rollup else f"countIf({cond})"
    columns = [f"{total} AS t_{name}"]
    if slo.latency is None:
        bad_cond = f"{cond} AND {_status_predicate(slo)}"
        columns.append(f"sumIf(requests, {bad_cond}) AS b_{name}" if rollup else f"countIf({bad_cond}) AS b_{name}")
        return columns
    field = slo.latency.field
    if rollup:
        index = bound_index(slo.latency.threshold_ms)
        assert index is not None
        prefix = "complete_ms" if field == "complete_request_ms" else "ttfb_ms"
        columns.append(f"sumForEachMergeIf({prefix}_over, {cond})[{index + 1}] AS b_{name}")
        if wants_percentiles:
            columns.append(f"quantilesTDigestMergeIf(0.5, 0.9, 0.99)({prefix}_digest, {cond}) AS q_{name}")
    else:
        columns.append(f"countIf({cond} AND {field} > {slo.latency.threshold_ms}) AS b_{name}")
        if wants_percentiles:
            columns.append(f"quantilesIf(0.5, 0.9, 0.99)({field}, {cond}) AS q_{name}")
    return columns


def build_query(policy: AlertPolicy, now: datetime, raw: bool = False) -> str:
    """The tick's query; `raw` forces the raw table (what the rollup saves is measured against it)."""
    end_at = window_end(now)
    rollup = uses_rollup(policy) and not raw
    longest = max(m for slo in policy.slos for m in _minutes_of(slo))
    end = f"toDateTime('{end_at:%Y-%m-%d %H:%M:%S}', 'UTC')"
    time_col = "minute" if rollup else "received_at"
    columns = [c for slo in policy.slos for minutes in _minutes_of(slo) for c in _columns(slo, minutes, end, rollup)]
    select = ",\n    ".join(["provider", "resolved_model", "client_name", *columns])
    table = "o11y.api_metrics_1m" if rollup else "o11y.api_metrics"
    return (
        f"SELECT\n    {select}\nFROM {table}\n"
        f"WHERE {time_col} >= {end} - INTERVAL {longest} MINUTE AND {time_col} < {end}\n"
        "GROUP BY provider, resolved_model, client_name"
    )


def parse_rows(policy: AlertPolicy, column_names: list[str], rows: list[Any]) -> dict[Dimension, WindowCounts]:
    result: dict[Dimension, WindowCounts] = {}
    for row in rows:
        values = dict(zip(column_names, row))
        counts: dict[tuple[str, int], WindowCount] = {}
        percentiles: dict[tuple[str, int], tuple[float, float]] = {}
        for slo in policy.slos:
            for minutes in _minutes_of(slo):
                name = f"{slo.name}_{minutes}"
                counts[(slo.name, minutes)] = WindowCount(int(values[f"b_{name}"]), int(values[f"t_{name}"]))
                quantiles = values.get(f"q_{name}")
                if quantiles:
                    percentiles[(slo.name, minutes)] = (float(quantiles[0]), float(quantiles[1]))
        dimension = (str(values["provider"]), str(values["resolved_model"]), str(values["client_name"]))
        result[dimension] = WindowCounts(counts, percentiles)
    return result


def fetch_window_counts(clickhouse: Any, policy: AlertPolicy, now: datetime) -> dict[Dimension, WindowCounts]:
    result = clickhouse.query(build_query(policy, now))
    return parse_rows(policy, list(result.column_names), result.result_rows)
