"""Usage questions as SQL (pure): stats, time series, recent events and export, with cost from the price table.

Whole hours are read from the hourly rollup `o11y.usage_1h`; the minutes of a range that do not fill an hour, every
question about users or organizations, and intervals under an hour are answered from the raw table with the same
expressions (`schemas.usage_columns`), so the answer is exact for any range. Cost is applied here, at query time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
)

from alerting.rules.period_cache import floor_to, split
from api.read_question import (
    INTERVALS,
    Bucketed,
    ExportRange,
    Name,
    Sql,
    TimeRange,
    at,
    distinct,
    points_in,
    spans,
    split_names,
)
from schemas.prices import PriceTable
from schemas.usage_columns import ACCURACY, LEVELS, MASKED_USER, MEASURES, ROLLUPS, UNCACHED_INPUT
from storage.events import API_METRICS, USAGE_1D, USAGE_1H

Dimension = Literal["client", "provider", "model", "inference_provider", "byok", "user", "organization"]
DIMENSIONS: tuple[Dimension, ...] = ("client", "provider", "model", "inference_provider", "byok", "user", "organization")
_COLUMNS: dict[str, tuple[str | None, str]] = {
    "client": ("client_name", "e.client_name"),
    "provider": ("provider", "e.provider"),
    "model": ("resolved_model", "e.resolved_model"),
    "inference_provider": ("inference_provider", "ifNull(e.inference_provider, '')"),
    "byok": ("user_byok", "e.user_byok"),
    "user": (None, MASKED_USER),
    "organization": (None, "ifNull(e.organization_id, '')"),
}
"""API name → (rollup column, or None when only the raw table knows it; expression over the raw table `e`)."""
HOUR = 3600
ROLLUP, RAW = str(USAGE_1H), str(API_METRICS)
ROLLUP_TABLES = {table.name: table for table in (USAGE_1D, USAGE_1H)}
_SKETCH_MERGE = f"quantilesDDMerge({ACCURACY}, {', '.join(map(str, LEVELS))})"
_SKETCH_MERGE_STATE = f"quantilesDDMergeState({ACCURACY}, {', '.join(map(str, LEVELS))})"


class UsageFilters(TimeRange):
    """Filters every usage question takes; a repeated parameter (`model=a&model=b`) means any of them."""

    client: tuple[Name, ...] = Field(default=(), max_length=100, description="Client name(s).")
    provider: tuple[Name, ...] = Field(default=(), max_length=100, description="Provider id(s).")
    model: tuple[Name, ...] = Field(default=(), max_length=100, description="Resolved model(s).")
    inference_provider: tuple[Name, ...] = Field(default=(), max_length=100, description="Inference provider(s).")
    user: tuple[Name, ...] = Field(default=(), max_length=100,
                                   description="User id(s); `anonymous` for every anonymous user.")
    organization: tuple[Name, ...] = Field(default=(), max_length=100, description="Organization id(s).")
    byok: bool | None = Field(default=None, description="Only requests on the user's own key (true) or not (false).")

    def filters(self) -> dict[str, tuple[Any, ...]]:
        found: dict[str, tuple[Any, ...]] = {d: getattr(self, d) for d in DIMENSIONS if d != "byok" and getattr(self, d)}
        if self.byok is not None:
            found["byok"] = (self.byok,)
        return found


class StatsQuery(UsageFilters):
    group_by: Annotated[tuple[Dimension, ...], BeforeValidator(split_names), AfterValidator(distinct)] = Field(
        default=(), description="Comma-separated: any of client, provider, model, inference_provider, byok, user, organization.")
    limit: int = Field(default=1000, ge=1, le=10_000, description="At most this many groups, most requests first.")


class TimeseriesQuery(Bucketed, StatsQuery):
    pass


class RecentQuery(UsageFilters):
    limit: int = Field(default=100, ge=1, le=1000, description="At most this many events, newest first.")


class ExportQuery(ExportRange, UsageFilters):
    pass


def _where(filters: dict[str, tuple[Any, ...]], sql: Sql, raw: bool) -> list[str]:
    clauses = []
    for name, values in filters.items():
        column = _COLUMNS[name][1] if raw else _COLUMNS[name][0]
        kind = "Bool" if name == "byok" else "String"
        bound = ", ".join(sql.bind(f"f_{name}_{i}", v, kind) for i, v in enumerate(values))
        clauses.append(f"{column} IN ({bound})")
    return clauses


def _measures() -> str:
    """A rollup row's measures under the row set's names."""
    return ", ".join(f"{name} AS m_{name}" if name.endswith("_sketch") else f"toUInt64({name}) AS m_{name}"
                     for name in MEASURES)


def row_set(filters: dict[str, tuple[Any, ...]], dims: tuple[str, ...], start: datetime, end: datetime, step: int | None,
            prices: PriceTable, sql: Sql, force_raw: bool = False) -> tuple[str, str]:
    """(SQL of rows `t, d_<dim>…, m_<measure>…, m_cost, m_priced, m_unpriced, m_unpriced_models`; where they come from).

    `step`: the time series' bucket in seconds (rows are at it), or None for one answer over the range. Whole days come
    from `o11y.usage_1d`, whole hours from `o11y.usage_1h` (each only when the step is at least that long), the rest from
    the raw table. Each part prices its own rows: a rollup's per row (prices change at midnight UTC), the raw table's per
    event, so that the raw part groups by the asked dimensions only. `force_raw` answers from the raw table alone (the
    benchmark's baseline; a test that all agree).
    """
    rollup_ok = not force_raw and not any(_COLUMNS[d][0] is None for d in (*dims, *filters))
    tables = {grain: (ROLLUP_TABLES[table], time) for table, (time, grain, _, _) in ROLLUPS.items()}
    grains = tuple(g for g in tables if rollup_ok and (step is None or step >= g))
    names = ", ".join(["t", *(f"d_{d}" for d in dims)])
    carried = ", ".join(f"m_{name}" for name in MEASURES)
    parts, sources = [], []
    for grain, ranges in split(start, end, grains):
        if grain is None:
            parts.append(_raw_part(filters, dims, ranges, step, start, prices, sql, names))
            sources.append("raw")
            continue
        table, time = tables[grain]
        keys = tuple(dict.fromkeys((*dims, "model", "provider")))
        columns = ", ".join(f"{_COLUMNS[d][0]} AS d_{d}" for d in keys)
        where = " AND ".join([spans(time, ranges, f"{table.name}_", "DateTime", sql), *_where(filters, sql, raw=False)])
        rows = f"SELECT toStartOfInterval({time}, INTERVAL {step or grain} SECOND) AS t, {columns}, {_measures()} " \
               f"FROM {table} WHERE {where}"
        index, rates = price_index(prices, "d_model", "d_provider", "t", sql)
        cost = cost_expression("price", rates, "m_uncached_input_tokens", "m_cache_hit_tokens", "m_cache_write_tokens",
                               "m_output_tokens")
        parts.append(f"SELECT {names}, {carried}, toFloat64({cost}) AS m_cost, if(price > 0, m_requests, 0) AS m_priced, "
                     "if(price = 0, m_requests, 0) AS m_unpriced, "
                     "CAST(if(price = 0 AND m_requests > 0, [d_model], []), 'Array(String)') AS m_unpriced_models "
                     f"FROM (SELECT *, {index} AS price FROM ({rows}))")
        sources.append("rollup")
    return " UNION ALL ".join(parts), "+".join(dict.fromkeys(sources))


def _raw_part(filters: dict[str, tuple[Any, ...]], dims: tuple[str, ...], ranges: list[tuple[datetime, datetime]],
              step: int | None, start: datetime, prices: PriceTable, sql: Sql, names: str) -> str:
    columns = "".join(f", {_COLUMNS[d][1]} AS d_{d}" for d in dims)
    where = " AND ".join([spans("e.received_at", ranges, "raw_", "DateTime64(3)", sql), *_where(filters, sql, raw=True)])
    bucket = (f"toDateTime(toStartOfInterval(e.received_at, INTERVAL {step} SECOND), 'UTC')" if step
              else f"toDateTime({sql.bind('whole', at(start), 'DateTime')}, 'UTC')")
    index, rates = price_index(prices, "e.resolved_model", "e.provider", "e.received_at", sql)
    cost = cost_expression("e.price", rates, UNCACHED_INPUT, "ifNull(e.cache_hit_tokens, 0)",
                           "ifNull(e.cache_write_tokens, 0)", "ifNull(e.output_tokens, 0)")
    measures = ", ".join(f"{expr} AS m_{name}" for name, (_, expr, _) in MEASURES.items())
    return (f"SELECT {bucket} AS t{columns}, {measures}, toFloat64(sum({cost})) AS m_cost, "
            "countIf(e.price > 0) AS m_priced, countIf(e.price = 0) AS m_unpriced, "
            "CAST(groupUniqArrayIf(20)(e.resolved_model, e.price = 0), 'Array(String)') AS m_unpriced_models "
            f"FROM (SELECT e.*, {index} AS price FROM {RAW} AS e WHERE {where}) AS e GROUP BY {names}")


def price_index(prices: PriceTable, model: str, provider: str, at: str, sql: Sql) -> tuple[str, tuple[str, ...]]:
    """(an expression giving each row's price number, 0 when unpriced; the rates of a number, `%s` standing for it).

    `model`, `provider`, `at` name the row's columns; `at` is a time, or an hour the row's requests fall in. The cost of
    the lookup does not grow with the table: `transform` finds the model's (and the model on this provider's) list of
    prices by hash, and the last one that took effect by `at` is picked from that short list.
    """
    periods = prices.periods()
    if not periods:
        return "toUInt32(0)", ()
    keys: list[str] = []
    starts: list[list[int]] = []
    offsets: list[int] = []
    for i, period in enumerate(periods):
        key = f"{period.price.model}\t{period.price.provider or ''}"
        if not keys or keys[-1] != key:
            keys.append(key)
            starts.append([])
            offsets.append(i)
        starts[-1].append(int(datetime.combine(period.start, datetime.min.time(), timezone.utc).timestamp()))
    never = 2**32 - 1
    bound_keys = sql.bind("price_keys", keys, "Array(String)")
    numbers = sql.bind("price_key_numbers", list(range(1, len(keys) + 1)), "Array(UInt32)")
    bound_offsets = sql.bind("price_offsets", offsets, "Array(UInt32)")
    slots = [sql.bind(f"price_starts_{j}", [s[j] if j < len(s) else never for s in starts], "Array(UInt32)")
             for j in range(max(map(len, starts)))]
    seconds = f"toUnixTimestamp({at})"

    def number(key: str) -> str:
        # Constant arrays are only looked up by hash (transform): indexing one per row would copy it per row.
        k = f"transform({key}, {bound_keys}, {numbers}, toUInt32(0))"
        position = " + ".join(f"(transform({k}, {numbers}, {slot}, toUInt32({never})) <= {seconds})" for slot in slots)
        offset = f"transform({k}, {numbers}, {bound_offsets}, toUInt32(0))"
        return f"if(({position}) = 0, toUInt32(0), toUInt32({offset} + {position}))"

    on_provider = number(f"concat({model}, '\\t', {provider})")
    anywhere = number(f"concat({model}, '\\t')")
    index = f"if({on_provider} > 0, {on_provider}, {anywhere})"
    rates = list(zip(*(period.price.rates() for period in periods), strict=True))
    every = sql.bind("price_numbers", list(range(1, len(periods) + 1)), "Array(UInt32)")
    return index, tuple(f"transform(toUInt32(%s), {every}, [{', '.join(repr(float(r)) for r in column)}], 0.)"
                        for column in rates)


def _day(day: date) -> str:
    return f"{day.isoformat()} 00:00:00"


def cost_expression(index: str, arrays: tuple[str, ...], uncached: str, hit: str, write: str, output: str) -> str:
    """The dollars of a row: uncached input, cache reads and writes and output, each at its rate per million.

    `arrays` are `price_index`'s rate lookups, `%s` standing for the price number.
    """
    if not arrays:
        return "0"
    rate_in, rate_read, rate_write, rate_out = (a % index for a in arrays)
    return f"(({uncached}) * {rate_in} + ({hit}) * {rate_read} + ({write}) * {rate_write} + ({output}) * {rate_out}) / 1e6"


PARTIALS = {**{f"m_{name}": f"{_SKETCH_MERGE_STATE}(m_{name})" if name.endswith("_sketch") else f"sum(m_{name})"
                for name in MEASURES},
            "m_cost": "sum(m_cost)", "m_priced": "sum(m_priced)", "m_unpriced": "sum(m_unpriced)",
            "m_unpriced_models": "groupUniqArrayArray(20)(m_unpriced_models)"}
"""The row set's columns aggregated part way, in the same shape: what AGGREGATES reads, once per group."""

AGGREGATES = (
    "sum(m_requests) AS requests, sum(m_errors_4xx) AS errors_4xx, sum(m_errors_5xx) AS errors_5xx, "
    "sum(m_requests_with_tokens) AS requests_with_tokens, sum(m_input_tokens) AS input_tokens, "
    "sum(m_output_tokens) AS output_tokens, sum(m_cache_write_tokens) AS cache_write_tokens, "
    "sum(m_cache_hit_tokens) AS cache_hit_tokens, sum(m_total_tokens) AS total_tokens, "
    f"{_SKETCH_MERGE}(m_ttfb_ms_sketch) AS ttfb_ms, {_SKETCH_MERGE}(m_complete_ms_sketch) AS complete_ms, "
    f"{_SKETCH_MERGE}(m_ttft_ms_sketch) AS ttft_ms, {_SKETCH_MERGE}(m_tpot_ms_sketch) AS tpot_ms, "
    "sum(m_cost) AS cost_usd, sum(m_priced) AS priced_requests, sum(m_unpriced) AS unpriced_requests, "
    "arraySort(groupUniqArrayArray(20)(m_unpriced_models)) AS unpriced_models"
)


@dataclass(frozen=True)
class Built:
    sql: str
    params: dict[str, Any]
    keys: tuple[str, ...]
    """Columns before the aggregates: `bucket` for a time series, then the group_by dimensions."""
    source: str
    start: datetime
    end: datetime


def stats_sql(query: StatsQuery, prices: PriceTable, now: datetime, force_raw: bool = False) -> Built:
    """The total row (`is_total`) first, then one row per group, most requests first."""
    start, end = query.span(now)
    sql = Sql()
    priced, source = row_set(query.filters(), query.group_by, start, end, None, prices, sql, force_raw)
    keys = tuple(f"d_{d}" for d in query.group_by)
    if not keys:
        text = f"SELECT 1 AS is_total, {AGGREGATES} FROM ({priced})"
    else:
        # Each group's sketches are merged once; the total merges the groups' states, not every row's again.
        groups = (f"SELECT {', '.join(keys)}, {', '.join(f'{expr} AS {name}' for name, expr in PARTIALS.items())} "
                  f"FROM ({priced}) GROUP BY {', '.join(keys)}")
        text = (f"SELECT grouping({', '.join(keys)}) != 0 AS is_total, {', '.join(keys)}, {AGGREGATES} FROM ({groups}) "
                f"GROUP BY GROUPING SETS (({', '.join(keys)}), ()) "
                f"ORDER BY is_total DESC, requests DESC, {', '.join(keys)} LIMIT {query.limit + 1}")
    return Built(text, sql.params, query.group_by, source, start, end)


def timeseries_sql(query: TimeseriesQuery, prices: PriceTable, now: datetime) -> Built:
    """One row per bucket (and group); with no group_by, buckets without traffic are there with zeros."""
    start, end = query.span(now)
    step = INTERVALS[query.interval]
    points_in(start, end, step, query.interval)
    sql = Sql()
    priced, source = row_set(query.filters(), query.group_by, start, end, step, prices, sql)
    keys = tuple(f"d_{d}" for d in query.group_by)
    bucket = f"toStartOfInterval(t, INTERVAL {step} SECOND)"
    group = ", ".join(["bucket", *keys])
    fill = ""
    if not keys:
        first = sql.bind("fill_from", at(floor_to(start, step)), "DateTime")
        last = sql.bind("fill_to", at(end), "DateTime")
        fill = f" WITH FILL FROM {first} TO {last} STEP {step}"
    text = (f"SELECT {bucket} AS bucket{''.join(', ' + k for k in keys)}, {AGGREGATES} FROM ({priced}) "
            f"GROUP BY {group} ORDER BY bucket{fill}{''.join(', ' + k for k in keys)} LIMIT {query.limit + 1}")
    return Built(text, sql.params, ("bucket", *query.group_by), source, start, end)


EVENT_COLUMNS: dict[str, str] = {
    "event_id": "toString(e.event_id)",
    "received_at": "e.received_at",
    "client": "e.client_name",
    "user": MASKED_USER,
    "organization": "e.organization_id",
    "is_anonymous": "e.is_anonymous",
    "is_streaming": "e.is_streaming",
    "byok": "e.user_byok",
    "mode": "e.mode",
    "provider": "e.provider",
    "requested_model": "e.requested_model",
    "model": "e.resolved_model",
    "inference_provider": "e.inference_provider",
    "tools_available": "e.tools_available",
    "tools_used": "e.tools_used",
    "status_code": "e.status_code",
    "ttfb_ms": "e.ttfb_ms",
    "complete_request_ms": "e.complete_request_ms",
    "input_tokens": "e.input_tokens",
    "output_tokens": "e.output_tokens",
    "cache_write_tokens": "e.cache_write_tokens",
    "cache_hit_tokens": "e.cache_hit_tokens",
    "total_tokens": "e.total_tokens",
}
"""What an event looks like in `recent` and `export` (plus `cost_usd`): never a secret, never an IP address."""
EVENT_FIELDS = (*EVENT_COLUMNS, "cost_usd")


def events_sql(query: UsageFilters, prices: PriceTable, now: datetime, limit: int | None) -> tuple[str, dict[str, Any]]:
    """Events of the range with their cost (NULL: unpriced, or no token counts), newest first when limited."""
    start, end = query.span(now)
    sql = Sql()
    where = " AND ".join([f"e.received_at >= {sql.bind('a', at(start, ms=True), 'DateTime64(3)')}",
                          f"e.received_at < {sql.bind('b', at(end, ms=True), 'DateTime64(3)')}",
                          *_where(query.filters(), sql, raw=True)])
    index, arrays = price_index(prices, "e.resolved_model", "e.provider", "e.received_at", sql)
    cost = cost_expression("e.price_number", arrays, UNCACHED_INPUT, "ifNull(e.cache_hit_tokens, 0)",
                           "ifNull(e.cache_write_tokens, 0)", "ifNull(e.output_tokens, 0)")
    has_tokens = "(e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL)"
    columns = ", ".join(f"{expr} AS {name}" for name, expr in EVENT_COLUMNS.items())
    newest = f" ORDER BY e.received_at DESC, e.event_id LIMIT {int(limit)}" if limit is not None else ""
    text = (f"SELECT {columns}, if(e.price_number > 0 AND {has_tokens}, round({cost}, 9), NULL) AS cost_usd "
            f"FROM (SELECT e.*, {index} AS price_number FROM {RAW} AS e WHERE {where}{newest}) AS e{newest}")
    return text, sql.params
