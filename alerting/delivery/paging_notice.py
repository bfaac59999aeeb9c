"""Paging turned off or down for many routes at once: on-call is told on the page channel while it lasts (pure).

An override whose match covers more than one route and that turns the SLO off (`enabled: false`) or its pages into
tickets (`page: false`) needs its `scope` said (`schemas.slo_overrides`); while such overrides are in force, one
incident per matched routes (`paging_reduced`) stays open, so the page channel gets one message when it starts and
one when it ends, delivered and retried like any page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from alerting.delivery.slack_messages import Body, said
from alerting.incidents.incidents import Incident, Notice
from alerting.rules.decisions import IncidentKey
from alerting.rules.message_words import clock, duration
from schemas.alert_policy import PAGING_REDUCED, AlertPolicy
from schemas.slo_overrides import SloOverride

Reduction = tuple[str, SloOverride]
"""Where the override is from ("policy file" or "admin API"), and the override."""


def reductions(policy: AlertPolicy) -> dict[IncidentKey, list[Reduction]]:
    """The overrides in force that quiet more than one route, by the incident that tells of them."""
    found: dict[IncidentKey, list[Reduction]] = {}
    for source, overrides in (("policy file", policy.overrides), ("admin API", policy.live_overrides)):
        for override in overrides:
            if override.reduces_paging and not override.match.one_route():
                match = override.match
                key = ("page", PAGING_REDUCED, match.provider or "*", match.model or "*", match.client or "*")
                found.setdefault(key, []).append((source, override))
    return found


def judge_paging(incidents: dict[IncidentKey, Incident], now_in_force: dict[IncidentKey, list[Reduction]],
                 end: datetime, new_id: Callable[[], str]) -> list[tuple[Incident, Notice | None]]:
    """Open an incident for each quieting that has none, resolve those no longer in force, and say again what did
    not reach Slack; an open one that was told stays as it is (no revision a minute for as long as it lasts)."""
    judged: list[tuple[Incident, Notice | None]] = []
    for key in now_in_force:
        incident = incidents.get(key)
        if incident is None or not incident.open:
            incident = Incident(new_id(), key, "open", "policy", end, end, end)
        elif incident.notified:
            continue
        judged.append((incident, Notice("opened", incident, None)))
    for key, incident in incidents.items():
        if key[1] == PAGING_REDUCED and incident.open and key not in now_in_force:
            resolved = replace(incident, status="resolved", resolved_at=end, judged_at=end)
            judged.append((resolved, Notice("resolved", resolved, None) if resolved.notified else None))
    return judged


def _routes(key: IncidentKey) -> str:
    return f"provider `{said(key[2])}`, model `{said(key[3])}`, client `{said(key[4])}`"


def reduced_message(incident: Incident, found: list[Reduction]) -> Body:
    header = ":no_bell: PAGE — paging turned down for many routes"
    lines = [f"*On every route that matches {_routes(incident.key)}:*"]
    for source, override in found:
        what = "the SLO is not evaluated" if override.enabled is False else "pages go out as tickets"
        slos = f"SLO `{said(override.match.slo)}`" if override.match.slo else "every SLO"
        why = f" — {said(override.comment)}" if override.comment else ""
        lines.append(f"• {slos}: {what} (override `{said(override.match.key())}`, {source}){why}")
    lines.append("If that is not meant, delete the override (`DELETE /v1/slo/overrides`) or edit the policy file.")
    return {"text": f"{header}: {said(incident.key[3])}", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Since {clock(incident.started_at)} · "
                                                                       f"Incident `{incident.id}`"}]},
    ]}


def restored_message(incident: Incident) -> Body:
    header = ":bell: RESOLVED (PAGE) — paging is back for those routes"
    text = (f"No override quiets the routes matching {_routes(incident.key)} any more: they page again. "
            f"Paging was turned down for {duration(incident.lasted())} (from {clock(incident.started_at)}).")
    return {"text": f"{header}: {said(incident.key[3])}", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Incident `{incident.id}`"}]},
    ]}
