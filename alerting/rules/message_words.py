"""Plain words for numbers: percentages, burn rates, durations, latencies and what a reading says (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from alerting.rules.burn_rate import percentile_exceeds
from alerting.rules.decisions import TierReading
from schemas.latency_buckets import LATENCY_BOUNDS_MS
from schemas.slo_spec import SloSpec

FIELD_WORDS = {"complete_request_ms": "complete time", "ttfb_ms": "time to first byte"}


def pct(value: Fraction | float) -> str:
    return f"{float(value) * 100:.3g} %"


def burn(value: Fraction | float) -> str:
    return f"{float(value):.1f}x"


def counted(n: int, word: str) -> str:
    """'1 model', '2 models'."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def ms(value: int) -> str:
    return f"{value:,} ms" if value < 1000 else f"{value / 1000:g} s"


def duration(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def clock(at: datetime) -> str:
    return f"{at:%H:%M} UTC"


def latency_words(slo: SloSpec) -> str:
    assert slo.latency is not None
    which = "successful requests" if slo.latency.statuses == "success" else "requests"
    return f"{FIELD_WORDS[slo.latency.field]} of {which}"


def percentile_range(over: tuple[int, ...], total: int, quantile: Fraction) -> str:
    """Where the window's pN lies between two rollup bounds, exactly (nearest rank)."""
    above = [percentile_exceeds(count, total, quantile) for count in over]
    if not any(above):
        return f"at most {ms(LATENCY_BOUNDS_MS[0])}"
    last = max(i for i, is_above in enumerate(above) if is_above)
    if last + 1 == len(LATENCY_BOUNDS_MS):
        return f"above {ms(LATENCY_BOUNDS_MS[-1])}"
    return f"between {ms(LATENCY_BOUNDS_MS[last])} and {ms(LATENCY_BOUNDS_MS[last + 1])}"


def status_split(classes: tuple[int, int, int]) -> str:
    parts = [f"{n:,} × {label}" for n, label in zip(classes, ("429", "5xx", "other 4xx"), strict=True) if n]
    return "By status: " + ", ".join(parts) + "." if parts else ""


def what_happened(reading: TierReading) -> list[str]:
    """The reading's numbers as sentences on-call can act on."""
    slo, long, minutes = reading.slo, reading.long, reading.window.long_minutes
    allows = f"the SLO allows {pct(slo.budget)}"
    if slo.kind == "error_rate":
        classes = reading.counts.status_classes.get((slo.name, minutes), (0, 0, 0))
        lines = [f"*{pct(long.fraction())} of requests failed* over the last {minutes} min "
                 f"({long.bad:,} of {long.total:,}); {allows}.", status_split(classes)]
        return [line for line in lines if line]
    assert slo.latency is not None
    threshold = ms(slo.latency.threshold_ms)
    if slo.kind == "latency_ratio":
        return [f"*{pct(long.fraction())} of requests took longer than {threshold}* ({latency_words(slo)}) over the last "
                f"{minutes} min ({long.bad:,} of {long.total:,}); {allows}."]
    p = f"p{slo.latency.percentile}"
    lines = [f"*The {p} of {latency_words(slo)} was above {threshold}* in {long.bad} of the last {long.total} judged "
             f"minutes; {allows} of minutes (a minute counts with at least {slo.min_requests} requests)."]
    observed = []
    for window in (reading.window.short_minutes, minutes):
        over = reading.counts.over.get((slo.name, window))
        requests = reading.counts.requests.get((slo.name, window), 0)
        if over is not None and requests:
            observed.append(f"{percentile_range(over, requests, slo.latency.quantile)} over the last {window} min "
                            f"({requests:,} requests)")
    if observed:
        lines.append(f"Observed {p}: " + "; ".join(observed) + ".")
    return lines


def tier_words(reading: TierReading) -> str:
    window = reading.window
    return (f"Tier {window.name} ({window.severity}): burning {burn(reading.burn_long)} the sustainable rate over "
            f"{window.long_minutes} min and {burn(reading.burn_short)} over the last {window.short_minutes} min "
            f"(threshold {window.burn_rate}x).")
