"""What a latency SLO measures, per request, and the bounds the per-minute rollup counts it over exactly (pure).

Three measures, each derived by ClickHouse from the raw table's stored columns, so that a replay, a backfill or rows
written straight into `o11y.api_metrics` get them too:

- complete time (`complete_request_ms`) and time to first byte (`ttfb_ms`), as the gateway measured them;
- time to first token: `ttfb_ms` of streamed requests (`ttfb_ms` with `streaming: true`); for a request that was not
  streamed the first byte comes with the whole answer, so its `ttfb_ms` is close to its complete time;
- time per output token (TPOT): `(complete_request_ms − ttfb_ms) / (output_tokens − 1)` of streamed, successful
  requests with at least `min_output_tokens` output tokens; the others have no value (they do not count, never as 0).

This module holds each measure's SQL once: the rollup's view, the raw table's derived columns, the tick's query, the
replay, baselines and charts all build theirs from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LATENCY_BOUNDS_MS: tuple[int, ...] = (
    100, 250, 500, 1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 180000, 300000,
)
"""Element i of a rollup's `*_ms_over` array counts requests with latency strictly greater than bound i."""

TPOT_BOUNDS_MS: tuple[int, ...] = (1, 2, 4, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200, 400, 1000)
"""Time per output token bounds: 1,000 down to 1 output tokens per second (a fast host's 500 and 250, a frontier API's
100 to 25, a slow host's 20 to 10)."""

MIN_OUTPUT_TOKENS_BOUNDS: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
"""The `min_output_tokens` values the rollup counts TPOT for; any other value is counted from the raw table."""
DEFAULT_MIN_OUTPUT_TOKENS = 16
"""Fewer output tokens say little of the speed: the first chunks of a stream often carry several tokens at once."""

TPOT_OVER = "tpot_over"
TPOT_SLOT = 1 + len(TPOT_BOUNDS_MS)
"""The rollup's `tpot_over` holds one slot per `MIN_OUTPUT_TOKENS_BOUNDS` value: the requests with at least that many
output tokens, then how many of them exceed each TPOT bound."""

BOUNDS_ARRAY = "[" + ", ".join(str(b) for b in LATENCY_BOUNDS_MS) + "]"
"""The bounds as a ClickHouse array literal, for the rollup's view, the tick's raw query and `o11y_count_over`."""
TPOT_BOUNDS_ARRAY = "[" + ", ".join(str(b) for b in TPOT_BOUNDS_MS) + "]"
MIN_TOKENS_ARRAY = "[" + ", ".join(str(m) for m in MIN_OUTPUT_TOKENS_BOUNDS) + "]"

LatencyField = Literal["complete_request_ms", "ttfb_ms", "time_per_output_token_ms"]
Streaming = bool | Literal["any"]
TPOT_FIELD = "time_per_output_token_ms"
TTFT_FIELD = "time_to_first_token_ms"


def tpot_counts(min_tokens: int | str, e: str = "") -> str:
    """SQL: the request has a TPOT that counts with at least `min_tokens` output tokens (`e`: the raw table's alias)."""
    return (f"({e}is_streaming AND {e}status_code < 400 AND {e}complete_request_ms >= {e}ttfb_ms "
            f"AND ifNull({e}output_tokens, 0) >= greatest({min_tokens}, 2))")


def tpot_above(bound_ms: int | str, e: str = "") -> str:
    """SQL: its TPOT is above `bound_ms`, in integers (exact, no rounding): generation time > bound × (tokens − 1)."""
    return f"({e}complete_request_ms - {e}ttfb_ms > {bound_ms} * (toInt64(ifNull({e}output_tokens, 0)) - 1))"


def tpot_value(e: str = "") -> str:
    """SQL: the TPOT in milliseconds (meaningful where `tpot_counts`)."""
    return f"(({e}complete_request_ms - {e}ttfb_ms) / (toInt64(ifNull({e}output_tokens, 0)) - 1))"


def tpot_over_state() -> str:
    """SQL of the rollup's view: each request's `tpot_over` slots, built without a per-element function (one ran for
    every slot and bound, and made inserts four times slower): the request counts in the first `class` slots (how many
    of `MIN_OUTPUT_TOKENS_BOUNDS` its output tokens reach), and in each it exceeds the first `bucket` bounds."""
    counted = tpot_counts(MIN_OUTPUT_TOKENS_BOUNDS[0])
    slots = f"toUInt8(if({counted}, arrayCount(m -> ifNull(output_tokens, 0) >= m, {MIN_TOKENS_ARRAY}), 0))"
    bucket = f"toUInt8(arrayCount(b -> {tpot_above('b')}, {TPOT_BOUNDS_ARRAY}))"
    slot = (f"arrayConcat([toUInt64(1)], arrayResize(arrayWithConstant({bucket}, toUInt64(1)), {len(TPOT_BOUNDS_MS)}, "
            "toUInt64(0)))")
    return (f"sumForEachState(arrayFlatten(arrayResize(arrayWithConstant({slots}, {slot}), {len(MIN_OUTPUT_TOKENS_BOUNDS)}, "
            f"arrayWithConstant({TPOT_SLOT}, toUInt64(0)))))")


TPOT_COLUMN = f"if({tpot_counts(2)}, {tpot_value()}, NULL)"
"""The raw table's derived `time_per_output_token_ms`."""
TTFT_COLUMN = "if(is_streaming, ttfb_ms, NULL)"
"""The raw table's derived `time_to_first_token_ms`."""


@dataclass(frozen=True)
class Measure:
    """One latency measure: what it is called, its bounds, which requests it counts and where the rollup keeps it."""

    key: str
    words: str
    bounds: tuple[int, ...]
    where: str
    """SQL over the raw table: the requests that have this measure ('': every request)."""
    value: str
    """The raw column compared with a bound (unused for TPOT, compared in integers by `tpot_above`)."""
    rollup_count: str
    """The rollup column counting those requests ('' for TPOT: its slot in `tpot_over`)."""
    rollup_over: str
    min_tokens: int | None = None

    @property
    def per_token(self) -> bool:
        return self.min_tokens is not None

    def above(self, bound: int | str) -> str:
        """SQL over the raw table: this request's value exceeds `bound` (ms)."""
        return tpot_above(bound) if self.per_token else f"{self.value} > {bound}"

    def bound_index(self, threshold_ms: int) -> int | None:
        """Position of `threshold_ms` in the rollup's arrays, or None when only the raw table can answer."""
        return self.bounds.index(threshold_ms) if threshold_ms in self.bounds else None

    def slot(self) -> int | None:
        """TPOT: where `tpot_over` keeps this `min_output_tokens` (None: only the raw table can answer)."""
        assert self.min_tokens is not None
        return MIN_OUTPUT_TOKENS_BOUNDS.index(self.min_tokens) if self.min_tokens in MIN_OUTPUT_TOKENS_BOUNDS else None

    def on_rollup(self, threshold_ms: int) -> bool:
        """The rollup counts this threshold exactly."""
        return self.bound_index(threshold_ms) is not None and (not self.per_token or self.slot() is not None)


COMPLETE = Measure("complete", "complete time", LATENCY_BOUNDS_MS, "", "complete_request_ms", "requests",
                   "complete_ms_over")
TTFB = Measure("ttfb", "time to first byte", LATENCY_BOUNDS_MS, "", "ttfb_ms", "requests", "ttfb_ms_over")
TTFT = Measure("ttft", "time to first token", LATENCY_BOUNDS_MS, "is_streaming", "ttfb_ms", "streamed_requests",
               "streamed_ttfb_ms_over")
BUFFERED_TTFB = Measure("buffered_ttfb", "time to first byte of answers not streamed", LATENCY_BOUNDS_MS,
                        "NOT is_streaming", "ttfb_ms", "buffered_requests", "buffered_ttfb_ms_over")


def tpot(min_tokens: int) -> Measure:
    return Measure("tpot", "time per output token", TPOT_BOUNDS_MS, tpot_counts(min_tokens), TPOT_FIELD, "", TPOT_OVER,
                   min_tokens)


def measure(field: LatencyField, streaming: Streaming = "any", min_tokens: int | None = None) -> Measure:
    """The measure an SLO's `latency` names (validated by `schemas.slo_spec.LatencyRule`)."""
    if field == TPOT_FIELD:
        return tpot(min_tokens or DEFAULT_MIN_OUTPUT_TOKENS)
    if field == "complete_request_ms":
        return COMPLETE
    return TTFB if streaming == "any" else TTFT if streaming else BUFFERED_TTFB


def tokens_per_second(tpot_ms: float) -> float:
    """Output tokens per second at a time per output token."""
    return 1000 / tpot_ms if tpot_ms > 0 else float("inf")
