"""The one query per tick: per dimension and minute first, then every SLO window (SQL text and parsing, no I/O).

The inner query folds the rollup into one row per dimension and minute, which is where per-minute
SLOs decide whether a minute is bad; the outer query sums minutes into windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from alerting.rules.burn_rate import WindowCount
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.latency_measures import TPOT_SLOT, Measure
from schemas.slo_spec import BurnWindow, SloSpec, Source
from storage.agent_sessions import SESSION_METRICS_1M, SESSION_TOOLS_1M
from storage.events import API_METRICS, API_METRICS_1M
from storage.table import Table

StatusClasses = tuple[int, int, int]
"""Bad requests answered 429, 5xx, and any other status."""

Key = tuple[str, int]
"""(SLO name, window minutes)"""
DIMS = "provider, resolved_model, client_name"
"""A route's columns, in the seed's order."""


@dataclass(frozen=True)
class WindowCounts:
    """One dimension's numbers for a tick; details (status classes, latency histogram, first bad minute) for long windows."""

    counts: dict[Key, WindowCount]
    status_classes: dict[Key, StatusClasses]
    over: dict[Key, tuple[int, ...]]
    requests: dict[Key, int]
    first_bad: dict[tuple[str, str], datetime]


EMPTY = WindowCounts({}, {}, {}, {}, {})


def window_end(now: datetime) -> datetime:
    """Windows end at the start of the current minute: only complete minutes are judged."""
    return now.astimezone(timezone.utc).replace(second=0, microsecond=0)


def on_rollup(specs: list[SloSpec]) -> bool:
    """The rollup is exact only for latency thresholds (and TPOT's `min_output_tokens`) among its bounds."""
    return all(slo.latency is None or slo.latency.on_rollup for slo in specs)


def uses_rollup(policy: AlertPolicy) -> bool:
    return on_rollup([slo for _, slo in policy.columns()])


def longest_window(policy: AlertPolicy) -> int:
    return max(w.long_minutes for _, slo in policy.columns() for w in slo.windows)


def window_minutes(slo: SloSpec) -> list[int]:
    """Every window length of the SLO, and the last minute alone (what an open incident adds each tick)."""
    return sorted({1} | {m for w in slo.windows for m in (w.long_minutes, w.short_minutes)})


def _long_minutes(slo: SloSpec) -> list[int]:
    return sorted({w.long_minutes for w in slo.windows})


def _detail_minutes(slo: SloSpec) -> list[int]:
    """Windows whose details a message shows: every long window, and for latency the short ones too."""
    shorts = {w.short_minutes for w in slo.windows} if slo.latency is not None else set()
    return sorted(set(_long_minutes(slo)) | shorts)


def ratio_reaches_sql(bad: str, total: str, limit: Fraction) -> str:
    """SQL of `burn_rate.reaches`: bad / total >= limit, in integers."""
    return f"({total} > 0 AND {bad} * {limit.denominator} >= {limit.numerator} * {total})"


def percentile_exceeds_sql(over: str, total: str, quantile: Fraction) -> str:
    """SQL of `burn_rate.percentile_exceeds`: over > (1 − q)·n."""
    rest = 1 - quantile
    return f"({total} > 0 AND {over} * {rest.denominator} > {rest.numerator} * {total})"


@dataclass(frozen=True)
class _Counted:
    """Where one source's minutes are: its per-minute rollup (and raw table), and which columns make its routes."""

    rollup: Table
    raw: Table | None
    first: str
    """The route's first part: the provider, the platform, the tool type."""
    second: str
    """Its second: the model, or the platform for tools."""
    units: str
    """The rollup's count column."""


COUNTED: dict[Source, _Counted] = {
    "requests": _Counted(API_METRICS_1M, API_METRICS, "provider", "resolved_model", "requests"),
    "sessions": _Counted(SESSION_METRICS_1M, None, "platform", "model", "sessions"),
    "tools": _Counted(SESSION_TOOLS_1M, None, "tool_type", "platform", "calls"),
}
"""Each source's tables. Every branch names its route `provider, resolved_model, client_name` (the tick's route columns);
an SLO's words for them are `SloSpec.route_words`."""


def _sources(groups: list[tuple[str, SloSpec]]) -> list[Source]:
    found = [slo.source for _, slo in groups]
    return [source for source in COUNTED if source in found] or ["requests"]


class _Source:
    """The rollup or the raw table of each source the SLOs count: how the inner query counts, filters and reads
    latency arrays. Several sources are read by one query: a branch each, UNION ALL, every branch with every group's
    columns (zero where the group counts another source)."""

    def __init__(self, rollup: bool, source: Source = "requests") -> None:
        counted = COUNTED[source]
        self.source = source
        self.rollup = rollup or counted.raw is None
        self.table = str(counted.rollup if self.rollup else counted.raw)
        self.time = "minute" if self.rollup else "received_at"
        self.units = counted.units
        self.route = ", ".join(column if column == name else f"{column} AS {name}"
                               for column, name in zip((counted.first, counted.second, "client_name"), DIMS.split(", "),
                                                       strict=True))

    def count(self, cond: str, column: str | None = None) -> str:
        column = column or self.units
        if not cond:
            return f"sum({column})" if self.rollup else "count()"
        return f"sumIf({column}, {cond})" if self.rollup else f"countIf({cond})"

    def minutes(self, groups: list[tuple[str, SloSpec]], where: str) -> str:
        """The inner query: one row per route and minute where `where` (`{time}` standing for the time column, `{window}`
        for the longest window of the groups the branch counts), with every group's per-minute columns; a branch per
        source the groups count."""
        branches = []
        for source in _sources(groups):
            branch = self if source == self.source else _Source(self.rollup, source)
            window = max((w.long_minutes for _, slo in groups if slo.source == source for w in slo.windows), default=1)
            branches.append(branch._branch(groups, where.replace("{time}", branch.time).replace("{window}", str(window))))
        return "(\n" + "\n    UNION ALL\n".join(branches) + "\n)"

    def _branch(self, groups: list[tuple[str, SloSpec]], where: str) -> str:
        minute = "minute" if self.rollup else "toStartOfMinute(received_at) AS minute"
        columns = []
        for name, slo in groups:
            own = _inner(slo, self if slo.source == self.source else _Source(True, slo.source), name)
            columns += own if slo.source == self.source else [_nothing(column) for column in own]
        inner = ",\n        ".join(columns)
        return (f"    SELECT {self.route}, {minute},\n        {inner}\n    FROM {self.table}\n    WHERE {where}\n"
                f"    GROUP BY {DIMS}, minute")

    def latency(self, measure: Measure, threshold_ms: int, cond: str, name: str) -> list[str]:
        """Per-minute columns of a latency SLO: `n_` requests measured, `h_` how many exceed each of the measure's
        bounds, `b_` how many exceed the threshold."""
        if not self.rollup:
            where = _all(cond, measure.where)
            bounds = "[" + ", ".join(map(str, measure.bounds)) + "]"
            return [f"countIf({where or 'true'}) AS n_{name}",
                    f"sumForEachIf(arrayMap(b -> toUInt64({measure.above('b')}), {bounds}), {where or 'true'}) AS h_{name}",
                    f"countIf({_all(where, measure.above(threshold_ms))}) AS b_{name}"]
        index = measure.bound_index(threshold_ms)
        assert index is not None
        if not measure.per_token:
            counts = [f"{self.count(cond, measure.rollup_count)} AS n_{name}",
                      f"sumForEachMergeIf({measure.rollup_over}, {cond or 'true'}) AS h_{name}"]
        else:
            slot = measure.slot()
            assert slot is not None
            start = slot * TPOT_SLOT + 1
            counts = [f"sumForEachMergeIf({measure.rollup_over}, {cond or 'true'}) AS s_{name}",
                      f"s_{name}[{start}] AS n_{name}", f"arraySlice(s_{name}, {start + 1}, {TPOT_SLOT - 1}) AS h_{name}"]
        return [*counts, f"h_{name}[{index + 1}] AS b_{name}"]


def _nothing(column: str) -> str:
    """A group's column in a branch of another source: zero, or an empty array, under the same name."""
    alias = column.rsplit(" AS ", 1)[1]
    empty = "CAST([], 'Array(UInt64)')" if alias[:2] in ("h_", "s_") else "toUInt64(0)"
    return f"{empty} AS {alias}"

def _all(*conditions: str) -> str:
    return " AND ".join(c for c in conditions if c)


def _status_predicate(slo: SloSpec) -> str:
    return "(" + " OR ".join(f"status_code BETWEEN {a} AND {b}" for a, b in slo.status_ranges()) + ")"


def _inner(slo: SloSpec, source: _Source, name: str) -> list[str]:
    """Per-minute columns of one SLO (`name`: its column group)."""
    if slo.source == "sessions":
        reasons = ", ".join(f"'{reason}'" for reason in slo.bad_reasons)
        bad = f"termination_reason IN ({reasons})" + (" OR stuck" if slo.stuck_is_bad else "")
        return [f"{source.count('')} AS n_{name}", f"{source.count(f'({bad})')} AS b_{name}"]
    if slo.source == "tools":
        return [f"sum(calls) AS n_{name}", f"sum(errors) AS b_{name}"]
    base = "" if slo.include_byok else "NOT user_byok"
    if slo.latency is None:
        bad = _all(base, _status_predicate(slo))
        return [
            f"{source.count(base)} AS n_{name}", f"{source.count(bad)} AS b_{name}",
            f"{source.count(_all(bad, 'status_code = 429'))} AS c429_{name}",
            f"{source.count(_all(bad, 'status_code >= 500'))} AS c5xx_{name}",
        ]
    cond = _all(base, "" if slo.latency.statuses == "all" else "status_code < 400")
    return source.latency(slo.latency.measure, slo.latency.threshold_ms, cond, name)


def _minute_bad(slo: SloSpec, name: str, window: BurnWindow | None = None) -> str:
    """SQL: this minute alone is bad (per-minute SLOs), or burns at the tier's rate (to find where an incident began)."""
    if slo.per_minute:
        assert slo.latency is not None
        return f"(n_{name} >= {slo.min_requests} AND {percentile_exceeds_sql(f'b_{name}', f'n_{name}', slo.latency.quantile)})"
    assert window is not None
    return f"(b_{name} > 0 AND {ratio_reaches_sql(f'b_{name}', f'n_{name}', window.threshold * slo.budget)})"


def _outer(slo: SloSpec, end: str, name: str, details: bool = True) -> list[str]:
    """Window columns of one SLO: totals and bad counts, and (`details`) what the messages say of its long windows."""

    def within(minutes: int) -> str:
        return f"minute >= {end} - INTERVAL {minutes} MINUTE"

    columns = []
    for m in window_minutes(slo):
        if slo.per_minute:
            judged = f"n_{name} >= {slo.min_requests}"
            columns += [f"countIf({judged} AND {within(m)}) AS t_{name}_{m}",
                        f"countIf({_minute_bad(slo, name)} AND {within(m)}) AS b_{name}_{m}"]
        else:
            columns += [f"sumIf(n_{name}, {within(m)}) AS t_{name}_{m}", f"sumIf(b_{name}, {within(m)}) AS b_{name}_{m}"]
    if not details:
        return columns
    for m in _detail_minutes(slo) if slo.source == "requests" else ():
        if slo.latency is None:
            columns += [f"sumIf(c429_{name}, {within(m)}) AS k429_{name}_{m}",
                        f"sumIf(c5xx_{name}, {within(m)}) AS k5xx_{name}_{m}"]
        else:
            columns += [f"sumForEachIf(h_{name}, {within(m)}) AS o_{name}_{m}", f"sumIf(n_{name}, {within(m)}) AS r_{name}_{m}"]
    for w in slo.windows:
        alias = f"f_{name}_{w.long_minutes}_{w.short_minutes}"
        columns.append(f"minIf(minute, {_minute_bad(slo, name, w)} AND {within(w.long_minutes)}) AS {alias}")
    return columns


def build_query(policy: AlertPolicy, end_at: datetime, raw: bool = False, details: bool = True) -> str:
    """The tick's query for windows ending at `end_at`.

    `raw` forces the raw table (what the rollup saves is measured against it); without `details`, only the windows'
    counts (what burn rates and trips need), not what the messages say (status classes, latency arrays, first bad
    minute)."""
    source = _Source(uses_rollup(policy) and not raw)
    end = f"toDateTime('{end_at:%Y-%m-%d %H:%M:%S}', 'UTC')"
    outer = ",\n    ".join(c for name, slo in policy.columns() for c in _outer(slo, end, name, details))
    where = f"{{time}} >= {end} - INTERVAL {{window}} MINUTE AND {{time}} < {end}"
    return f"SELECT\n    {DIMS},\n    {outer}\nFROM {source.minutes(policy.columns(), where)}\nGROUP BY {DIMS}"


def period_query(policy: AlertPolicy, end_at: datetime, days: int) -> str:
    """Per route, for each column group over the `days` before `end_at`: `t_{group}` units counted and `b_{group}` bad
    ones (requests; for per-minute SLOs judged and bad minutes): what the error budget left is computed from."""
    return period_range_query(policy, end_at - timedelta(days=days), end_at)


def period_range_query(policy: AlertPolicy, start: datetime, end: datetime, by_hour: bool = False,
                       step_s: int | None = None, route: Dimension | None = None) -> str:
    """`period_query`'s columns over [start, end) (whole minutes), and each route's first minute with requests
    (`first_minute`); with `by_hour`, per route and hour (`hour`); with `step_s`, per route and bucket of that many
    seconds (`bucket`); `route` keeps one route only."""
    source = _Source(uses_rollup(policy))
    outer = ["min(minute) AS first_minute"]
    for name, slo in policy.columns():
        if slo.per_minute:
            outer += [f"countIf(n_{name} >= {slo.min_requests}) AS t_{name}", f"countIf({_minute_bad(slo, name)}) AS b_{name}"]
        else:
            outer += [f"sum(n_{name}) AS t_{name}", f"sum(b_{name}) AS b_{name}"]
    time, group = "", ""
    if by_hour:
        time, group = ", toStartOfHour(minute) AS hour", ", hour"
    elif step_s is not None:
        time, group = f", toStartOfInterval(minute, INTERVAL {int(step_s)} SECOND) AS bucket", ", bucket"
    where = f"{{time}} >= {_sql_time(start)} AND {{time}} < {_sql_time(end)}"
    if route is not None:
        where += "".join(f" AND {column} = {_sql_text(value)}" for column, value in zip(DIMS.split(", "), route, strict=True))
    return f"SELECT {DIMS}{time}, {', '.join(outer)}\nFROM {source.minutes(policy.columns(), where)}\nGROUP BY {DIMS}{group}"


def _sql_text(value: str) -> str:
    """A string literal: backslashes and quotes escaped (route names come from events)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


ROUTE_HASH = "cityHash64(provider, resolved_model, client_name)"


def _sql_time(at: datetime) -> str:
    return f"toDateTime('{at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}', 'UTC')"


def minute_rows_query(specs: list[SloSpec], start: datetime, end: datetime) -> str:
    """Per route and minute of [start, end): for each spec i, `n{i}` (counted units) and `b{i}` (bad ones; for
    per-minute SLOs the requests above the threshold). The same per-minute columns as the tick's query, for a replay."""
    source = _Source(on_rollup(specs))
    picked = ", ".join(f"toUInt64(n_g{i}) AS n{i}, toUInt64(b_g{i}) AS b{i}" for i in range(len(specs)))
    where = f"{{time}} >= {_sql_time(start)} AND {{time}} < {_sql_time(end)}"
    groups = [(f"g{i}", spec) for i, spec in enumerate(specs)]
    return (f"SELECT {ROUTE_HASH} AS route, toUInt32(dateDiff('minute', {_sql_time(start)}, minute)) AS at, {picked}\n"
            f"FROM {source.minutes(groups, where)}")


def routes_query(rollup: bool, start: datetime, end: datetime, specs: list[SloSpec] | None = None) -> str:
    """The routes with data in [start, end) of every source the `specs` count (requests without them), by the hash
    `minute_rows_query` names them with."""
    branches = []
    for source in _sources([("", spec) for spec in specs or []]):
        counted = _Source(rollup, source)
        branches.append(f"SELECT {counted.route} FROM {counted.table} "
                        f"WHERE {counted.time} >= {_sql_time(start)} AND {counted.time} < {_sql_time(end)}")
    return f"SELECT DISTINCT {ROUTE_HASH}, {DIMS} FROM ({' UNION ALL '.join(branches)})"


def _first_bad(value: Any) -> datetime | None:
    if not isinstance(value, datetime) or value.year <= 1970:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _padded(values: Any, bounds: tuple[int, ...]) -> tuple[int, ...]:
    counts = [int(v) for v in values or ()]
    return tuple(counts + [0] * (len(bounds) - len(counts)))


def _has_details(values: dict[str, Any], column: str, minutes: int) -> bool:
    """The row was read with details (`build_query(details=True)`)."""
    return f"k429_{column}_{minutes}" in values or f"r_{column}_{minutes}" in values


def _parse_row(policy: AlertPolicy, dimension: Dimension, values: dict[str, Any]) -> WindowCounts:
    """One route's counts, keyed by SLO name, read from the column group of its effective SLO."""
    counts: dict[Key, WindowCount] = {}
    classes: dict[Key, StatusClasses] = {}
    over: dict[Key, tuple[int, ...]] = {}
    requests: dict[Key, int] = {}
    first_bad: dict[tuple[str, str], datetime] = {}
    for declared in policy.slos:
        resolved = policy.resolve(declared.name, dimension)
        if resolved is None or not resolved.enabled:
            continue
        name, slo, column = declared.name, resolved.spec, resolved.column
        for m in window_minutes(slo):
            counts[(name, m)] = WindowCount(int(values[f"b_{column}_{m}"]), int(values[f"t_{column}_{m}"]))
        for m in _detail_minutes(slo) if slo.source == "requests" else ():
            if not _has_details(values, column, m):
                break
            if slo.latency is None:
                k429, k5xx = int(values[f"k429_{column}_{m}"]), int(values[f"k5xx_{column}_{m}"])
                classes[(name, m)] = (k429, k5xx, counts[(name, m)].bad - k429 - k5xx)
            else:
                assert slo.latency is not None
                over[(name, m)] = _padded(values[f"o_{column}_{m}"], slo.latency.measure.bounds)
                requests[(name, m)] = int(values[f"r_{column}_{m}"])
        for w in slo.windows:
            found = _first_bad(values.get(f"f_{column}_{w.long_minutes}_{w.short_minutes}"))
            if found is not None:
                first_bad[(name, w.name)] = found
    return WindowCounts(counts, classes, over, requests, first_bad)


def parse_rows(policy: AlertPolicy, column_names: list[str], rows: list[Any]) -> dict[Dimension, WindowCounts]:
    result: dict[Dimension, WindowCounts] = {}
    for row in rows:
        values = dict(zip(column_names, row, strict=True))
        dimension = (str(values["provider"]), str(values["resolved_model"]), str(values["client_name"]))
        result[dimension] = _parse_row(policy, dimension, values)
    return result


def window_start(end: datetime, minutes: int) -> datetime:
    return end - timedelta(minutes=minutes)


def parse_period(policy: AlertPolicy, column_names: list[str], rows: list[Any]) -> dict[Dimension, dict[str, WindowCount]]:
    """`period_query`'s rows: per route, each evaluated SLO's units over the period, from its own column group."""
    result: dict[Dimension, dict[str, WindowCount]] = {}
    for row in rows:
        values = dict(zip(column_names, row, strict=True))
        dimension = (str(values["provider"]), str(values["resolved_model"]), str(values["client_name"]))
        counts = {}
        for declared in policy.slos:
            resolved = policy.resolve(declared.name, dimension)
            if resolved is not None and resolved.enabled:
                counts[declared.name] = WindowCount(int(values[f"b_{resolved.column}"]), int(values[f"t_{resolved.column}"]))
        result[dimension] = counts
    return result
