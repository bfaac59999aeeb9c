"""A route's charts (pure): error rate and requests, latency and generation speed, and per SLO the burn by tier and the
budget burn-down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup

from alerting.rules.period_cache import floor_to
from api.pages.series import LATENCY_LEVELS, SloCounts, burn_down, rolling_burn
from api.pages.svg import Band, Chart, Series, Threshold, line_chart
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.latency_measures import COMPLETE, DEFAULT_MIN_OUTPUT_TOKENS, TTFB, TTFT, tokens_per_second
from schemas.slo_spec import SloSpec


@dataclass(frozen=True)
class RouteData:
    """What a route's page read: usage points and latency per bucket of `step` seconds over [start, end), the SLOs'
    counts per bucket (`counts`, from before `start` by the longest window) and per hour of the period (`hourly`)."""

    route: Dimension
    points: list[dict[str, Any]]
    latency: dict[str, dict[datetime, dict[str, float]]]
    counts: SloCounts
    hourly: SloCounts
    start: datetime
    end: datetime
    step: int
    bands: list[Band]
    period_start: datetime
    seen: dict[str, str | None]
    """Per SLO: how much of the period the route's budget has seen, in words, when that is little."""


def route_charts(policy: AlertPolicy, d: RouteData) -> list[Markup]:
    return [*_traffic(policy, d), *_latency(policy, d), *(c for declared in policy.slos for c in _budget(policy, d,
                                                                                                       declared.name))]


def _traffic(policy: AlertPolicy, d: RouteData) -> list[Markup]:
    at = [datetime.fromisoformat(p["t"]) for p in d.points]
    errors = [Series(kind, [(t, p["errors"][kind] / p["requests"] if p["requests"] else None)
                            for t, p in zip(at, d.points, strict=True)], css) for kind, css in (("5xx", "s0"), ("4xx", "s1"))]
    limits = [Threshold(f"{declared.name}: objective {spec.objective} → {float(spec.budget):.2%}", float(spec.budget))
              for declared in policy.slos
              if (spec := policy.slo_for(declared.name, d.route)) is not None and spec.latency is None]
    requests = Series("requests", [(t, float(p["requests"])) for t, p in zip(at, d.points, strict=True)], "s2")
    return [line_chart(Chart("Error rate", errors, d.start, d.end, "%", limits, d.bands)),
            line_chart(Chart("Requests", [requests], d.start, d.end, "", (), d.bands))]


_MS_CHARTS = (("complete_ms", COMPLETE.key, "Latency, complete request"),
              ("ttft_ms", TTFT.key, "Latency, time to first token (streamed requests)"),
              ("ttfb_ms", TTFB.key, "Latency, time to first byte"))
"""(what `RouteData.latency` keeps it under, the measure whose SLOs are drawn on it, the title)."""
SPEED_LEVELS = {"p50": "p50", "p90": "p90: slowest 10 %", "p99": "p99: slowest 1 %"}
"""Output tokens per second is 1000 / time per output token: its p90 line is the speed of the slowest 10 %."""


def _latency(policy: AlertPolicy, d: RouteData) -> list[Markup]:
    at = [datetime.fromisoformat(p["t"]) for p in d.points]
    specs = [(declared.name, spec) for declared in policy.slos
             if (spec := policy.slo_for(declared.name, d.route)) is not None and spec.latency is not None]
    charts = []
    for kept, key, title in _MS_CHARTS:
        lines = [Series(level, [(t, d.latency.get(kept, {}).get(t, {}).get(level)) for t in at], f"s{i}")
                 for i, level in enumerate(LATENCY_LEVELS)]
        rules = [Threshold(f"{name}: {_rule(spec)}", float(spec.latency.threshold_ms))
                 for name, spec in specs if spec.latency is not None and spec.latency.measure.key == key]
        charts.append(line_chart(Chart(title, lines, d.start, d.end, "ms", rules, d.bands)))
    charts.insert(2, _speed(specs, d, at))
    return charts


def _speed(specs: list[tuple[str, SloSpec]], d: RouteData, at: list[datetime]) -> Markup:
    """Output tokens per second of streamed answers with at least DEFAULT_MIN_OUTPUT_TOKENS tokens, from the time per
    output token's percentiles, with each TPOT SLO's threshold as a speed."""
    tpot = d.latency.get("tpot_ms", {})
    lines = [Series(name, [(t, _per_second(tpot.get(t, {}).get(level))) for t in at], f"s{i}")
             for i, (level, name) in enumerate(SPEED_LEVELS.items())]
    rules = [Threshold(f"{name}: {_rule(spec)}", tokens_per_second(spec.latency.threshold_ms))
             for name, spec in specs if spec.latency is not None and spec.latency.measure.per_token]
    title = f"Output tokens per second (streamed answers of {DEFAULT_MIN_OUTPUT_TOKENS}+ tokens)"
    return line_chart(Chart(title, lines, d.start, d.end, "tok/s", rules, d.bands))


def _per_second(tpot_ms: float | None) -> float | None:
    return None if tpot_ms is None or tpot_ms <= 0 else tokens_per_second(tpot_ms)


def _budget(policy: AlertPolicy, d: RouteData, name: str) -> list[Markup]:
    """The burn of each tier over the range (its long window rolled over the buckets) and the budget over the period."""
    spec = policy.slo_for(name, d.route)
    if spec is None:
        return []
    first_at = floor_to(d.start - timedelta(minutes=max(w.long_minutes for w in spec.windows)), d.step)
    series = d.counts.series(name, d.route, first_at, d.end, d.step)
    first = int((d.start - first_at).total_seconds() // d.step)
    tiers = [Series(f"{w.name} ({w.long_minutes} min)",
                    rolling_burn(series, max(1, w.long_minutes * 60 // d.step), spec.budget, first), f"s{i}")
             for i, w in enumerate(spec.windows)]
    limits = [Threshold(f"{w.name} trips at {w.burn_rate}x", float(w.burn_rate), "limit") for w in spec.windows]
    hours = floor_to(d.period_start, 3600)
    down = burn_down(d.hourly.series(name, d.route, hours, d.end, 3600), spec.budget)
    over = d.seen.get(name) or f"over {policy.period_days} days"
    return [line_chart(Chart(f"{spec.title}: burn rate by tier", tiers, d.start, d.end, "x", limits, d.bands, log_floor=0.1)),
            line_chart(Chart(f"{spec.title}: error budget left {over}", [Series("budget left", down, "s3")], hours, d.end,
                             "%", [Threshold("exhausted", 0.0)], d.bands))]


def _rule(spec: SloSpec) -> str:
    rule = spec.latency
    if rule is None:
        return ""
    if rule.measure.per_token:
        tokens = "" if rule.measure.min_tokens == DEFAULT_MIN_OUTPUT_TOKENS else f", answers of {rule.measure.min_tokens}+ tokens"
        speed = f"{tokens_per_second(rule.threshold_ms):,.3g} tokens/s ({rule.threshold_ms:,} ms per token{tokens})"
        return f"p{rule.percentile} ≥ {speed}" if rule.percentile is not None else f"≥ {speed} for {spec.objective} of answers"
    if rule.percentile is not None:
        return f"p{rule.percentile} ≤ {rule.threshold_ms:,} ms"
    return f"≤ {rule.threshold_ms:,} ms for {spec.objective} of requests"
