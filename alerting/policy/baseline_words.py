"""A baseline in a few lines of plain text, from its JSON form: what `o11y slo baseline` prints, however it was read."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from alerting.policy.baseline_latency import PERCENTILES
from alerting.rules.message_words import pct


def range_words(lower_ms: int, upper_ms: int | None) -> str:
    """A percentile that lies in (lower_ms, upper_ms]; `upper_ms` None: above the largest bound."""
    return f"> {lower_ms} ms" if upper_ms is None else f"≤ {upper_ms} ms ({lower_ms}–{upper_ms}]"


def _selector(selector: dict[str, Any]) -> str:
    parts = [f"model {selector['model']}"]
    return ", ".join(parts + [f"{name} {selector[name]}" for name in ("provider", "client") if selector.get(name) is not None])


def _error_rates(body: dict[str, Any]) -> str:
    periods = []
    for name, period in body["error_rate"].items():
        requests = period["requests"]
        periods.append(f"{name} no traffic" if not requests
                       else f"{name} {pct(Fraction(period['errors'], requests))} of {requests:,} requests")
    return f"error rate{'' if body['include_byok'] else ' (BYOK excluded)'}  " + "   ".join(periods)


def _speed_words(speed: dict[str, Any]) -> str:
    lower, upper = speed["lower"], speed["upper"]
    return f"≥ {lower:.3g}" if upper is None else f"{lower:.3g}–{upper:.3g}"


def _latency(latency: dict[str, Any]) -> list[str]:
    lines = []
    for name, field in latency.items():
        if not isinstance(field, dict):
            continue  # days, start, method…: about every field
        counted = field.get("counted", "successful requests")
        if not field["requests"]:
            lines.append(f"{name} no {counted} in {latency['days']} days")
            continue
        ranges = "   ".join(f"{p} {range_words(field[p]['lower_ms'], field[p]['upper_ms'])}" for p in PERCENTILES
                           if field.get(p) is not None)
        lines.append(f"{name} {ranges}   ({field['requests']:,} {counted}, {latency['days']} days)")
        speeds = field.get("tokens_per_second") or {}
        if any(speeds.values()):
            said = "   ".join(f"{p} {_speed_words(speeds[p])}" for p in PERCENTILES if speeds.get(p) is not None)
            lines.append(f"{name} as output tokens/s (1000 / time per output token; p95: the slowest 5 %)  {said}")
    return lines


def _suggestions(suggestions: dict[str, Any]) -> list[str]:
    objective = suggestions["objective"]
    lines = [f"no objective suggested: {objective['reason']}" if objective["value"] is None
             else f"suggested objective {objective['value']}: {objective['reason']}"]
    for slo, t in suggestions["thresholds"].items():
        speed = (t.get("tokens_per_second") or {}).get("current")
        now = f"now {t['current_ms']}" + ("" if speed is None else f", {speed:.3g} tokens/s")
        lines.append(f"no threshold suggested for {slo}: {t['reason']}" if t["threshold_ms"] is None
                     else f"suggested {slo} threshold_ms {t['threshold_ms']} ({now}): {t['reason']}")
    return lines


def baseline_words(body: dict[str, Any]) -> str:
    """`Baseline.as_dict()` (or the API's answer) for a terminal."""
    end = datetime.fromisoformat(body["end"])
    return "\n".join([f"{_selector(body['selector'])}, until {end:%Y-%m-%d %H:%M} UTC", _error_rates(body),
                      *_latency(body["latency"]), *_suggestions(body["suggestions"])])
