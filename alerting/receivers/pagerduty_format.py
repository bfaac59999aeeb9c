"""PagerDuty Events API v2 bodies, and the plain words and addresses of an incident every receiver shares (pure)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from alerting.incidents.incidents import Incident, Notice
from alerting.rules.decisions import TierReading
from schemas.alert_policy import PAGING_REDUCED, STALE_DATA
from schemas.slo_spec import ROUTE_WORDS, SloSpec

MAX_SUMMARY = 1024
"""PagerDuty refuses a longer summary with a 400, and the page is lost."""
SEVERITIES = {"page": "critical", "ticket": "warning"}
OWN_TITLES = {STALE_DATA: "Data stale", PAGING_REDUCED: "Paging turned down"}
"""o11y's own incidents: no SLO spec names them."""
Link = tuple[str, str]
"""(label, plain URL)."""


def utc(at: datetime) -> str:
    """RFC 3339 (so ISO 8601) in UTC with a "Z", as Alertmanager writes times."""
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters; when cut, the last one is "…" (as Alertmanager cuts PagerDuty summaries)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def own(incident: Incident) -> bool:
    return incident.slo in OWN_TITLES


def title(incident: Incident, slo: SloSpec | None) -> str:
    """The SLO's title; an SLO no longer in the policy goes by its name."""
    return slo.title if slo is not None else OWN_TITLES.get(incident.slo, incident.slo)


def route_words(slo: SloSpec | None) -> tuple[str, str, str]:
    return slo.route_words if slo is not None else ROUTE_WORDS["requests"]


def route(incident: Incident) -> str:
    """'openai gpt-4 (kilo-gateway)'; a session or tool route may have no second part."""
    first, second, client = incident.dimension
    return f"{first} {second or '(none)'} ({client})"


def summary(incident: Incident, slo: SloSpec | None) -> str:
    """'PAGE: Error Rate burning on openai gpt-4 (kilo-gateway)': the words of the Slack header and route."""
    head = f"{incident.severity.upper()}: {title(incident, slo)}"
    if incident.slo == STALE_DATA:
        return f"{head}: SLOs cannot be judged"
    verb = "on" if own(incident) else "burning on"
    return cut(f"{head} {verb} {route(incident)}", MAX_SUMMARY)


def route_url(incident: Incident, public_url: str, slo: SloSpec | None) -> str:
    """The route's page, or for sessions and tools the sessions page filtered to the route (as `page_links`)."""
    first, second, client = incident.dimension
    base = public_url.rstrip("/")
    source = slo.source if slo is not None else "requests"
    if source == "requests":
        return f"{base}/ui/route?{urlencode({'provider': first, 'model': second, 'client': client})}"
    names = ("platform", "model") if source == "sessions" else ("tool", "platform")
    return f"{base}/ui/sessions?{urlencode({names[0]: first, names[1]: second, 'client': client})}"


def incident_url(incident: Incident, public_url: str) -> str:
    return f"{public_url.rstrip('/')}/ui/incidents#incident-{incident.id}"


def page_urls(incident: Incident, public_url: str | None, slo: SloSpec | None) -> list[Link]:
    """o11y's pages for the incident when their address is known; o11y's own incidents have no route page."""
    if not public_url:
        return []
    label = "Route page" if slo is None or slo.source == "requests" else "Sessions page"
    pages = [] if own(incident) else [(label, route_url(incident, public_url, slo))]
    return [*pages, ("Incident", incident_url(incident, public_url))]


def slo_urls(incident: Incident, slo: SloSpec | None, tick: datetime) -> list[Link]:
    """The SLO's runbook and dashboard, filled in as the Slack alert fills them."""
    if slo is None:
        return []
    _, _, first, second, client = incident.key
    values = {"slo": incident.slo, "severity": incident.severity, "provider": first, "model": second, "client": client,
              "incident_id": incident.id, "tick": f"{tick.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"}
    found = (("Runbook", slo.link(slo.runbook_url, **values)), ("Dashboard", slo.link(slo.dashboard_url, **values)))
    return [(label, url) for label, url in found if url]


def reading_details(reading: TierReading | None) -> dict[str, float]:
    if reading is None:
        return {}
    return {"burn_long": round(float(reading.burn_long), 3), "burn_short": round(float(reading.burn_short), 3),
            "threshold": float(reading.window.threshold)}


def _details(notice: Notice, slo: SloSpec | None) -> dict[str, Any]:
    incident = notice.incident
    return {"incident_id": incident.id, "severity": incident.severity, "slo": incident.slo,
            "slo_title": title(incident, slo), **dict(zip(route_words(slo), incident.dimension, strict=True)),
            "tier": incident.tier, **reading_details(notice.reading), "bad": incident.bad, "total": incident.total,
            "started_at": utc(incident.started_at), "opened_at": utc(incident.opened_at),
            "reopened": len(incident.reopened), "peak_burn": round(incident.peak_burn, 3)}


def _payload(notice: Notice, slo: SloSpec | None) -> dict[str, Any]:
    incident = notice.incident
    first, second, _ = incident.dimension
    payload: dict[str, Any] = {"summary": summary(incident, slo), "source": "o11y",
                               "severity": SEVERITIES[incident.severity], "timestamp": utc(incident.opened_at)}
    # PagerDuty groups and filters alerts by these; an empty one says nothing.
    payload |= {name: value for name, value in (("component", first), ("group", second)) if value}
    return payload | {"class": incident.slo, "custom_details": _details(notice, slo)}


def pagerduty_event(notice: Notice, routing_key: str, public_url: str | None, slo: SloSpec | None) -> dict[str, Any]:
    """A trigger when the incident opens or re-opens, a resolve when it resolves or escalates; keyed by the incident,
    so that a retried trigger updates the one alert and a trigger after a resolve opens a new one."""
    incident = notice.incident
    if notice.kind in ("resolved", "escalated"):
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": incident.id}
    if slo is None and notice.reading is not None:
        slo = notice.reading.slo
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": "trigger", "dedup_key": incident.id,
                             "payload": _payload(notice, slo), "client": "o11y"}
    if public_url:
        event["client_url"] = incident_url(incident, public_url)
    tick = notice.reading.end if notice.reading is not None else incident.judged_at
    links = [*page_urls(incident, public_url, slo), *slo_urls(incident, slo, tick)]
    if links:
        event["links"] = [{"href": url, "text": label} for label, url in links]
    return event
