"""Plain words for numbers: percentages, burn rates, durations, latencies and what a reading says (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from alerting.rules.burn_rate import percentile_exceeds
from alerting.rules.decisions import TierReading
from schemas.latency_measures import LATENCY_BOUNDS_MS, Measure, tokens_per_second
from schemas.slo_spec import SloSpec


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
    """What the SLO measures, over which requests: 'time to first token of streamed successful requests'."""
    assert slo.latency is not None
    measure = slo.latency.measure
    which = "successful requests" if slo.latency.statuses == "success" else "requests"
    if measure.per_token:
        return f"{measure.words} of streamed successful requests with at least {measure.min_tokens} output tokens"
    if measure.where == "is_streaming":
        return f"{measure.words} of streamed {which}"
    return f"{measure.words} of {which}"


def speed(tpot_ms: int) -> str:
    """'20 tokens/s' at 50 ms per token."""
    return f"{tokens_per_second(tpot_ms):.3g} tokens/s"


def percentile_range(over: tuple[int, ...], total: int, quantile: Fraction, bounds: tuple[int, ...] = LATENCY_BOUNDS_MS,
                     per_token: bool = False) -> str:
    """Where the window's pN lies between two rollup bounds, exactly (nearest rank); per token, as a speed."""
    above = [percentile_exceeds(count, total, quantile) for count in over]
    if not any(above):
        return f"at least {speed(bounds[0])}" if per_token else f"at most {ms(bounds[0])}"
    last = max(i for i, is_above in enumerate(above) if is_above)
    if last + 1 == len(bounds):
        return f"below {speed(bounds[-1])}" if per_token else f"above {ms(bounds[-1])}"
    if per_token:
        return f"{tokens_per_second(bounds[last + 1]):.3g}–{speed(bounds[last])}"
    return f"between {ms(bounds[last])} and {ms(bounds[last + 1])}"


def _per_token_lines(reading: TierReading, measure: Measure) -> list[str]:
    """A TPOT SLO in speeds: 'the median answer streamed at between 16.7 and 20 tokens/s over the last 5 min'."""
    slo, long = reading.slo, reading.long
    assert slo.latency is not None
    wants = speed(slo.latency.threshold_ms)
    median = slo.latency.percentile == 50
    who = "the median answer" if median else f"the p{slo.latency.percentile} answer (by time per output token)"
    lines = [f"*{who[0].upper()}{who[1:]} streamed slower than {wants}* in {long.bad} of the last {long.total} judged "
             f"minutes; the SLO allows {pct(slo.budget)} of minutes (a minute counts with at least {slo.min_requests} "
             f"streamed answers of {measure.min_tokens}+ tokens)."]
    observed = []
    for window in (reading.window.short_minutes, reading.window.long_minutes):
        over = reading.counts.over.get((slo.name, window))
        requests = reading.counts.requests.get((slo.name, window), 0)
        if over is not None and requests:
            observed.append(f"{percentile_range(over, requests, slo.latency.quantile, measure.bounds, True)} over the "
                            f"last {window} min ({requests:,} answers)")
    if observed:
        lines.append(f"{who[0].upper()}{who[1:]} streamed at " + "; ".join(observed) + f"; the SLO wants at least {wants}.")
    return lines


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
    if slo.kind == "session_failure_rate":
        bad = " or ".join(f"`{reason}`" for reason in slo.bad_reasons) + (
            ", or had a stuck tool call" if slo.stuck_is_bad else "")
        return [f"*{pct(long.fraction())} of sessions failed* (ended {bad}) over the last {minutes} min "
                f"({long.bad:,} of {long.total:,}); {allows}."]
    if slo.kind == "tool_error_rate":
        return [f"*{pct(long.fraction())} of this tool's calls failed* over the last {minutes} min "
                f"({long.bad:,} of {long.total:,}); {allows}."]
    assert slo.latency is not None
    threshold = ms(slo.latency.threshold_ms)
    if slo.kind == "latency_ratio":
        return [f"*{pct(long.fraction())} of requests took longer than {threshold}* ({latency_words(slo)}) over the last "
                f"{minutes} min ({long.bad:,} of {long.total:,}); {allows}."]
    if slo.latency.measure.per_token:
        return _per_token_lines(reading, slo.latency.measure)
    p = f"p{slo.latency.percentile}"
    lines = [f"*The {p} of {latency_words(slo)} was above {threshold}* in {long.bad} of the last {long.total} judged "
             f"minutes; {allows} of minutes (a minute counts with at least {slo.min_requests} requests)."]
    observed = []
    for window in (reading.window.short_minutes, minutes):
        over = reading.counts.over.get((slo.name, window))
        requests = reading.counts.requests.get((slo.name, window), 0)
        if over is not None and requests:
            observed.append(f"{percentile_range(over, requests, slo.latency.quantile, slo.latency.measure.bounds)} over "
                            f"the last {window} min "
                            f"({requests:,} requests)")
    if observed:
        lines.append(f"Observed {p}: " + "; ".join(observed) + ".")
    return lines


def tier_words(reading: TierReading) -> str:
    window = reading.window
    return (f"Tier {window.name} ({window.severity}): burning {burn(reading.burn_long)} the sustainable rate over "
            f"{window.long_minutes} min and {burn(reading.burn_short)} over the last {window.short_minutes} min "
            f"(threshold {window.burn_rate}x).")
