"""Building alerting timelines: rows at chosen minutes, straight into the real raw table (the rollup follows)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any


def unique_base() -> datetime:
    """A minute far from other tests' data (and from real time), so windows only see this test's rows."""
    offset = uuid.uuid4().int % 50_000
    return datetime(2031, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=offset * 400)


class Timeline:
    def __init__(self, clickhouse: Any, base: datetime | None = None) -> None:
        self.clickhouse = clickhouse
        self.base = base or unique_base()

    def at(self, minute: int, second: int = 5) -> datetime:
        """The tick time `minute` minutes after the base (ticks run at :05)."""
        return self.base + timedelta(minutes=minute, seconds=second)

    def requests(self, minute: int, count: int, *, status: int = 200, complete_ms: int = 300, ttfb_ms: int = 50,
                 client: str = "kilo-gateway", provider: str = "openai", model: str = "gpt-4", byok: bool = False,
                 streaming: bool = True, output_tokens: int | None = None) -> None:
        """`count` requests spread over the minute; `output_tokens` None: the gateway reported none."""
        if count <= 0:
            return
        start = self.base + timedelta(minutes=minute)
        self.clickhouse.command(
            "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
            " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
            " complete_request_ms, status_code, output_tokens, kafka_topic, kafka_partition, kafka_offset) "
            "SELECT generateUUIDv4(), "
            "toDateTime64({start:DateTime64(3)}, 3, 'UTC') + toIntervalMillisecond(intDiv(number * 60000, {count:UInt64})),"
            " {client:String}, 'user', false, {streaming:Bool}, {byok:Bool}, {provider:String}, {model:String},"
            " {model:String}, [], [], {ttfb:UInt64}, {complete:UInt64}, {status:UInt16}, {output:Nullable(UInt64)},"
            " 'timeline', 0, 0 FROM numbers({count:UInt64})",
            parameters={
                "start": start.replace(tzinfo=None),
                "client": client,
                "byok": byok,
                "provider": provider,
                "model": model,
                "ttfb": ttfb_ms,
                "complete": complete_ms,
                "status": status,
                "streaming": streaming,
                "output": output_tokens,
                "count": count,
            },
        )

    def traffic(
        self, first: int, last: int, per_minute: int, bad_fraction: float = 0.0, *, bad_status: int = 500, **kwargs: Any
    ) -> None:
        """`per_minute` requests in each minute of [first, last), a fraction of them errors."""
        for minute in range(first, last):
            bad = round(per_minute * bad_fraction)
            self.requests(minute, per_minute - bad, **kwargs)
            self.requests(minute, bad, status=bad_status, **kwargs)


SESSION_INSERT = (
    "INSERT INTO o11y.session_metrics (event_id, received_at, client_name, kilo_user_id, session_id, platform,"
    " session_duration_ms, total_turns, total_steps, tool_calls_by_type, tool_errors_by_type, total_errors,"
    " errors_by_type, stuck_tool_call_count, input_tokens, output_tokens, reasoning_tokens, cache_read_tokens,"
    " cache_write_tokens, total_cost, compaction_count, auto_compaction_count, termination_reason, model,"
    " kafka_topic, kafka_partition, kafka_offset) SELECT generateUUIDv4(),"
)
"""The columns a timeline's sessions fill, and the start of the SELECT that fills them."""


class SessionTimeline(Timeline):
    """Finished agent sessions at chosen minutes, straight into `o11y.session_metrics` (its rollups follow)."""

    def sessions(self, minute: int, count: int, *, reason: str = "completed", stuck: int = 0, client: str = "kilo-gateway",
                 platform: str = "vscode", model: str = "anthropic/claude-sonnet-4.5",
                 calls: dict[str, int] | None = None, errors: dict[str, int] | None = None) -> None:
        """`count` sessions spread over the minute, each ended by `reason`, with `stuck` stuck tool calls and these
        tool calls and failed ones per tool type."""
        if count <= 0:
            return
        self.clickhouse.command(
            f"{SESSION_INSERT} "
            "toDateTime64({start:DateTime64(3)}, 3, 'UTC') + toIntervalMillisecond(intDiv(number * 60000, {count:UInt64})),"
            " {client:String}, 'user', toString(number), {platform:String}, 60000, 3, 10,"
            " mapFromArrays({call_types:Array(String)}, {calls:Array(UInt64)}),"
            " mapFromArrays({error_types:Array(String)}, {errors:Array(UInt64)}), 0, map(), {stuck:UInt64},"
            " 1000, 100, 0, 0, 0, 0.01, 0, 0, {reason:String},"
            " {model:String}, 'timeline', 0, 0 FROM numbers({count:UInt64})",
            parameters={"start": (self.base + timedelta(minutes=minute)).replace(tzinfo=None), "client": client,
                        "platform": platform, "model": model, "call_types": list(calls or {}),
                        "calls": list((calls or {}).values()), "error_types": list(errors or {}),
                        "errors": list((errors or {}).values()),
                        "stuck": stuck, "reason": reason, "count": count},
        )

    def steady(self, first: int, last: int, per_minute: int, *, failed_per_mille: int, tool_error_per_mille: int,
               client: str, platform: str, model: str) -> None:
        """`per_minute` sessions in each minute of [first, last) in one insert: about `failed_per_mille` ‰ of them end
        in `error` (a hash decides which, the same on every run), each calls `read_file` 10 times and
        `execute_command` 5 times, and in about `tool_error_per_mille` ‰ of them one `execute_command` call fails."""
        count = (last - first) * per_minute
        self.clickhouse.command(
            f"{SESSION_INSERT} "
            "toDateTime64({start:DateTime64(3)}, 3, 'UTC') + toIntervalMillisecond(intDiv(number * 60000, {per:UInt64})),"
            " {client:String}, 'user', toString(number), {platform:String}, 60000, 3, 10,"
            " map('read_file', 10, 'execute_command', 5),"
            " map('execute_command', toUInt64(cityHash64(number, {platform:String}, 1) % 1000 < {tool:UInt64})),"
            " 0, map(), 0, 1000, 100, 0, 0, 0, 0.01, 0, 0,"
            " if(cityHash64(number, {model:String}) % 1000 < {failed:UInt64}, 'error', 'completed'),"
            " {model:String}, 'timeline', 0, 0 FROM numbers({count:UInt64})",
            parameters={"start": (self.base + timedelta(minutes=first)).replace(tzinfo=None), "per": per_minute,
                        "client": client, "platform": platform, "model": model, "count": count,
                        "failed": failed_per_mille, "tool": tool_error_per_mille},
        )


def _hashed_normal(salt: int) -> str:
    """A standard normal from two hashed uniforms (Box–Muller): the same rows every run."""
    u1 = f"((cityHash64(n, {{seed:UInt64}}, {salt}) % 1000000000) + 0.5) / 1000000000"
    u2 = f"((cityHash64(n, {{seed:UInt64}}, {salt + 1}) % 1000000000) + 0.5) / 1000000000"
    return f"sqrt(-2 * ln({u1})) * cos(2 * pi() * {u2})"


def realistic(
    timeline: Timeline,
    first: int,
    last: int,
    dimensions: int,
    per_minute: int,
    *,
    seed: int = 7,
    error_rate: float = 0.0005,
    complete_median_ms: int = 2000,
    ttfb_median_ms: int = 400,
    complete_sigma: float = 1.0,
    ttfb_sigma: float = 0.8,
    slow: tuple[int, int, int, int] | None = None,
    client: str = "kilo-gateway",
) -> None:
    """LLM-like traffic on `dimensions` routes (provider-{i % 5}, model-{i}): log-normal latencies capped at 60 s,
    TTFB at most the complete time, random errors at `error_rate`. `slow` = (route, first, last, complete median)
    makes one route's median that slow for minutes [first, last)."""
    count = (last - first) * per_minute * dimensions
    route, slow_first, slow_last, slow_median = slow or (-1, 0, 0, complete_median_ms)
    minute = f"(intDiv(intDiv(n, {dimensions}), {per_minute}) + {first})"
    median = (
        f"if(n % {dimensions} = {route} AND {minute} >= {slow_first} AND {minute} < {slow_last}, "
        f"{slow_median}, {complete_median_ms})"
    )
    complete = f"least(60000, toUInt64(round({median} * exp({complete_sigma} * {_hashed_normal(1)}))))"
    ttfb = f"least({complete}, toUInt64(round({ttfb_median_ms} * exp({ttfb_sigma} * {_hashed_normal(3)}))))"
    status = f"if((cityHash64(n, {{seed:UInt64}}, 5) % 1000000) < {int(error_rate * 1_000_000)}, 500, 200)"
    timeline.clickhouse.command(
        "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
        " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
        " complete_request_ms, status_code, kafka_topic, kafka_partition, kafka_offset) "
        f"SELECT generateUUIDv4(), toDateTime64({{base:DateTime64(3)}}, 3, 'UTC') + toIntervalMillisecond("
        f"{minute} * 60000 + intDiv((intDiv(n, {dimensions}) % {per_minute}) * 60000, {per_minute})),"
        f" {{client:String}}, 'user', false, true, false, concat('provider-', toString(n % {dimensions} % 5)),"
        f" concat('model-', toString(n % {dimensions})), concat('model-', toString(n % {dimensions})), [], [],"
        f" {ttfb}, {complete}, {status}, 'timeline', 0, 0 FROM (SELECT number AS n FROM numbers({{count:UInt64}}))",
        parameters={"base": timeline.base.replace(tzinfo=None), "seed": seed, "count": count, "client": client},
        settings={"max_insert_block_size": 1_000_000},
    )


def llm_streams(
    timeline: Timeline,
    first: int,
    last: int,
    routes: int,
    per_minute: int,
    *,
    seed: int = 11,
    ttft_ms: tuple[int, ...] = (500, 800, 1200),
    tpot_ms: tuple[int, ...] = (8, 10, 12, 15, 18),
    tokens: tuple[int, int, int, int] = (200, 200, 0, 1),
    slower: tuple[int, int, int, float, float] | None = None,
    error_rate: float = 0.0,
    client: str = "kilo-gateway",
    model: str = "model",
) -> None:
    """Streamed LLM answers on `routes` routes (provider-{i % 5}, {model}-{i}) in minutes [first, last): the first token
    log-normal around the route's `ttft_ms[i % len]` (σ 0.4), then `output_tokens − 1` more at the route's time per
    output token `tpot_ms[i % len]` (σ 0.15 per answer), so complete = first token + (tokens − 1) × TPOT, as a gateway
    measures a stream. Output tokens are log-normal (σ 0.8) around a median that moves from `tokens[0]` to `tokens[1]`
    between minutes `tokens[2]` and `tokens[3]` (geometrically). `slower` = (route, first, last, first-token factor,
    per-token factor) degrades one route for minutes [first, last); `error_rate` of the answers fail (500)."""
    count = (last - first) * per_minute * routes
    route = f"(n % {routes})"
    minute = f"(intDiv(intDiv(n, {routes}), {per_minute}) + {first})"
    bad_route, bad_first, bad_last, ttft_factor, tpot_factor = slower or (-1, 0, 0, 1.0, 1.0)
    degraded = f"({route} = {bad_route} AND {minute} >= {bad_first} AND {minute} < {bad_last})"
    start, end, shift_first, shift_last = tokens
    share = f"least(1, greatest(0, ({minute} - {shift_first}) / {max(1, shift_last - shift_first)}))"
    median_tokens = f"({start} * pow({end} / {start}, {share}))"
    n_tokens = f"least(32000, greatest(1, toUInt64(round({median_tokens} * exp(0.8 * {_hashed_normal(7)})))))"
    ttft = (f"toUInt64(round(arrayElement({list(ttft_ms)}, {route} % {len(ttft_ms)} + 1) * if({degraded}, {ttft_factor}, 1)"
            f" * exp(0.4 * {_hashed_normal(9)})))")
    tpot = (f"(arrayElement({list(tpot_ms)}, {route} % {len(tpot_ms)} + 1) * if({degraded}, {tpot_factor}, 1)"
            f" * exp(0.15 * {_hashed_normal(11)}))")
    timeline.clickhouse.command(
        "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
        " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
        " complete_request_ms, status_code, input_tokens, output_tokens, kafka_topic, kafka_partition, kafka_offset) "
        f"SELECT generateUUIDv4(), toDateTime64({{base:DateTime64(3)}}, 3, 'UTC') + toIntervalMillisecond("
        f"{minute} * 60000 + intDiv((intDiv(n, {routes}) % {per_minute}) * 60000, {per_minute})),"
        f" {{client:String}}, 'user', false, true, false, concat('provider-', toString({route} % 5)),"
        f" concat({{model:String}}, '-', toString({route})), concat({{model:String}}, '-', toString({route})), [], [],"
        f" ttft, ttft + toUInt64(round((tokens - 1) * {tpot})),"
        f" if((cityHash64(n, {{seed:UInt64}}, 13) % 1000000) < {int(error_rate * 1_000_000)}, 500, 200), 1000, tokens,"
        " 'timeline', 0, 0 "
        f"FROM (SELECT number AS n, {n_tokens} AS tokens, {ttft} AS ttft FROM numbers({{count:UInt64}}))",
        parameters={"base": timeline.base.replace(tzinfo=None), "seed": seed, "count": count, "client": client,
                    "model": model},
        settings={"max_insert_block_size": 1_000_000},
    )
