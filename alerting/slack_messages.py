"""Slack Block Kit bodies for alerts and resolves: pure rendering, pinned by golden files."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alerting.decisions import TierReading, Trip


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.2f}%"


def _burn(value: Any) -> str:
    return f"{float(value):.1f}x"


def _numbers(reading: TierReading) -> str:
    slo, long = reading.slo, reading.long
    minutes = reading.window.long_minutes
    if slo.latency is None:
        lines = [
            f"Error rate: {_pct(long.fraction())} (SLO: {_pct(slo.objective)})",
            f"*{long.bad:,} of {long.total:,} requests failed* in the last {minutes} min",
        ]
    else:
        lines = [
            f"Slow request rate above {slo.latency.threshold_ms}ms threshold: {_pct(long.fraction())} (SLO: {_pct(slo.objective)})",
            f"*{long.bad:,} of {long.total:,} requests* took longer than {slo.latency.threshold_ms:,} ms "
            f"({slo.latency.field}) in the last {minutes} min",
        ]
        if reading.percentiles is not None:
            p50, p90 = reading.percentiles
            lines.append(f"Observed {slo.latency.field}: p50 {p50:,.0f} ms, p90 {p90:,.0f} ms")
    return "\n".join(lines)


def _fields(reading: TierReading, threshold: Decimal) -> dict[str, Any]:
    provider, model, _ = reading.dimension
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": f"*Provider:*\n{provider}"},
            {"type": "mrkdwn", "text": f"*Model:*\n{model}"},
            {"type": "mrkdwn", "text": f"*Burn rate:*\n{_burn(reading.burn_long)} (threshold: {threshold}x)"},
            {"type": "mrkdwn", "text": f"*Window:*\n{reading.window.long_minutes} min"},
        ],
    }


def alert_message(trip: Trip) -> dict[str, Any]:
    reading = trip.reading
    icon = ":rotating_light: PAGE" if trip.severity == "page" else ":ticket: TICKET"
    client = reading.dimension[2]
    tier = (
        f"Tier {reading.window.name} ({reading.window.severity}) tripped: long window {_burn(reading.burn_long)}, "
        f"short window ({reading.window.short_minutes} min) {_burn(reading.burn_short)}"
    )
    if trip.downgraded:
        tier += " — sent as a ticket: this client or model is not page-eligible"
    text = f"{icon} — LLM {reading.slo.title} SLO Breach"
    return {
        "text": f"{text}: {reading.dimension[0]} {reading.dimension[1]} ({client})",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": text}},
            _fields(reading, reading.window.burn_rate),
            {"type": "section", "text": {"type": "mrkdwn", "text": _numbers(reading)
                                          + f"\nRequests in window: {reading.long.total:,}\nClient: {client}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": tier}]},
        ],
    }


def resolve_message(reading: TierReading, severity: str) -> dict[str, Any]:
    client = reading.dimension[2]
    text = f":white_check_mark: RESOLVED ({severity.upper()}) — LLM {reading.slo.title} SLO"
    summary = (
        f"Burn rate is back below {reading.window.burn_rate}x in both windows: "
        f"{reading.window.long_minutes} min {_burn(reading.burn_long)}, {reading.window.short_minutes} min {_burn(reading.burn_short)}"
    )
    return {
        "text": f"{text}: {reading.dimension[0]} {reading.dimension[1]} ({client})",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": text}},
            _fields(reading, reading.window.burn_rate),
            {"type": "section", "text": {"type": "mrkdwn", "text": _numbers(reading) + f"\nClient: {client}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": summary}]},
        ],
    }
