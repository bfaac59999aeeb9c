"""Alertmanager webhook messages (payload version 4) for incidents, so that Alertmanager's receivers take o11y's (pure)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from alerting.incidents.incidents import Incident, Notice
from alerting.receivers.pagerduty_format import (
    incident_url,
    own,
    route_url,
    route_words,
    slo_urls,
    summary,
    utc,
)
from alerting.rules.message_words import burn, clock, duration, tier_words, times
from schemas.slo_spec import SloSpec

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's endsAt of a firing alert (Go's zero time)."""
_FNV_OFFSET, _FNV_PRIME, _U64 = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1
_SEPARATOR = b"\xff"


def fingerprint(labels: Mapping[str, str]) -> str:
    """prometheus/common's fingerprint of a label set: FNV-1a 64 over the labels sorted by name, each name and value
    followed by a 0xFF byte, as 16 hex digits. (Code point order is UTF-8 byte order, Go's order of names.)"""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + _SEPARATOR + labels[name].encode() + _SEPARATOR:
            value = ((value ^ byte) * _FNV_PRIME) & _U64
    return f"{value:016x}"


def alert_labels(incident: Incident, slo: SloSpec | None) -> dict[str, str]:
    """What identifies the incident: the same labels, so the same fingerprint, on every message about it, re-opens
    included. Empty values are left out, as Prometheus treats an empty label as no label."""
    labels = {"alertname": incident.slo, "severity": incident.severity,
              **dict(zip(route_words(slo), incident.dimension, strict=True)), "incident_id": incident.id, "source": "o11y"}
    return {name: value for name, value in labels.items() if value}


def description(notice: Notice) -> str:
    """What happened, in plain text (receivers show annotations as they are)."""
    incident, reading = notice.incident, notice.reading
    end = incident.resolved_at or incident.judged_at
    if notice.kind == "escalated":
        return f"Escalated to a page at {clock(end)}: the page of the same SLO and route carries it from here."
    if notice.kind == "resolved":
        counts = (f" {incident.bad:,} bad of {incident.total:,}, peak burn {burn(incident.peak_burn)}."
                  if incident.total else "")
        return f"Resolved at {clock(end)} after {duration(incident.lasted())}.{counts}"
    again = f"Re-opened at {clock(incident.opened_at)} ({times(len(incident.reopened))} so far). " if incident.reopened else ""
    if reading is None:
        return f"{again}Open since {clock(incident.opened_at)}."
    return f"{again}{tier_words(reading)} First bad minute {clock(incident.started_at)}."


def alert_annotations(notice: Notice, slo: SloSpec | None, external_url: str) -> dict[str, str]:
    """Summary, description, the SLO's runbook and dashboard, and o11y's pages when their address is known."""
    incident = notice.incident
    notes = {"summary": summary(incident, slo), "description": description(notice)}
    tick = notice.reading.end if notice.reading is not None else incident.judged_at
    notes |= {f"{label.lower()}_url": url for label, url in slo_urls(incident, slo, tick)}
    if external_url and not own(incident):
        notes["route_url"] = route_url(incident, external_url, slo)
    if external_url:
        notes["incident_url"] = incident_url(incident, external_url)
    return notes


def _alert(notice: Notice, slo: SloSpec | None, external_url: str) -> dict[str, Any]:
    incident = notice.incident
    labels = alert_labels(incident, slo)
    firing = notice.kind in ("opened", "reopened")
    return {
        "status": "firing" if firing else "resolved",
        "labels": labels,
        "annotations": alert_annotations(notice, slo, external_url),
        "startsAt": utc(incident.opened_at),
        "endsAt": ZERO_TIME if firing else utc(incident.resolved_at or incident.judged_at),
        "generatorURL": route_url(incident, external_url, slo) if external_url and not own(incident) else "",
        "fingerprint": fingerprint(labels),
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map holds."""
    if not maps:
        return {}
    return {name: value for name, value in maps[0].items() if all(other.get(name) == value for other in maps[1:])}


def _label_set(labels: Mapping[str, str]) -> str:
    """Go's LabelSet.String(): '{alertname="error_rate"}'."""
    return "{" + ", ".join(sorted(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in labels.items())) + "}"


def _group_labels(incidents: list[Incident]) -> dict[str, str]:
    """One incident is its own group; several are grouped by their SLO when they share one."""
    if len({incident.id for incident in incidents}) == 1:
        return {"incident_id": incidents[0].id}
    slos = {incident.slo for incident in incidents}
    return {"alertname": slos.pop()} if len(slos) == 1 else {}


def notification_reason(notices: Sequence[Notice]) -> str:
    """Why this message goes out, in Alertmanager's words."""
    kinds = {notice.kind for notice in notices}
    if kinds <= {"resolved", "escalated"}:
        return "all alerts resolved"
    if kinds & {"resolved", "escalated"}:
        return "some alerts resolved"
    return "new alerts added" if "reopened" in kinds else "first notification"


def webhook_message(receiver: str, notices: Sequence[Notice], external_url: str,
                    slos: Callable[[str], SloSpec | None]) -> dict[str, Any]:
    """The body Alertmanager would POST for these notices: `slos` finds an SLO's spec by name (None when gone)."""
    alerts = [_alert(notice, notice.reading.slo if notice.reading is not None else slos(notice.incident.slo), external_url)
              for notice in notices]
    group = _group_labels([notice.incident for notice in notices]) if notices else {}
    return {
        "version": "4",
        "groupKey": f"{{}}:{_label_set(group)}",
        "truncatedAlerts": 0,
        "status": "firing" if any(alert["status"] == "firing" for alert in alerts) else "resolved",
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": _common([alert["labels"] for alert in alerts]),
        "commonAnnotations": _common([alert["annotations"] for alert in alerts]),
        "externalURL": external_url,
        "notification_reason": notification_reason(notices),
        "alerts": alerts,
    }
