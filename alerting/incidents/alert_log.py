"""Rows of o11y.alert_events: every decision of a tick, with its numbers (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from alerting.incidents.incidents import Incident
from alerting.rules.decisions import TierReading
from storage.alerting import ALERT_EVENTS

COLUMNS = ALERT_EVENTS.column_names


@dataclass(frozen=True)
class Decision:
    tick: str
    decision: str
    """fired, suppressed, silenced, delivered, failed, rejected, unconfirmed, resolved, escalated, stale, degraded, dry_run"""
    severity: str
    slo: str
    tier: str
    provider: str
    model: str
    client_name: str
    threshold: float
    burn_long: float
    burn_short: float
    bad_long: int
    total_long: int
    bad_short: int
    total_short: int
    observed_p50_ms: float | None
    observed_p90_ms: float | None
    detail: str
    incident_id: str
    silence_id: str = ""
    receiver: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def row(self, event_time: datetime) -> list[Any]:
        values = self.as_dict()
        values["tick"] = datetime.fromisoformat(self.tick)
        return [event_time, *(values[c] for c in COLUMNS[1:])]


def decision(tick: datetime, what: str, severity: str, reading: TierReading | None, incident: Incident | None,
             detail: str = "", silence_id: str = "", receiver: str = "") -> Decision:
    """A decision about a tier reading and/or an incident; numbers are zero when there is no reading."""
    provider, model, client = reading.dimension if reading else (incident.dimension if incident else ("", "", ""))
    slo = reading.slo.name if reading else (incident.slo if incident else "")
    numbers: dict[str, Any] = {"threshold": 0.0, "burn_long": 0.0, "burn_short": 0.0, "bad_long": 0, "total_long": 0,
                               "bad_short": 0, "total_short": 0}
    tier = incident.tier if incident else ""
    if reading is not None:
        tier = reading.window.name
        numbers = {"threshold": float(reading.window.burn_rate), "burn_long": float(reading.burn_long),
                   "burn_short": float(reading.burn_short), "bad_long": reading.long.bad, "total_long": reading.long.total,
                   "bad_short": reading.short.bad, "total_short": reading.short.total}
    return Decision(tick=tick.isoformat(), decision=what, severity=severity, slo=slo, tier=tier, provider=provider,
                    model=model, client_name=client, observed_p50_ms=None, observed_p90_ms=None, detail=detail,
                    incident_id=incident.id if incident else "", silence_id=silence_id, receiver=receiver,
                    **numbers)
