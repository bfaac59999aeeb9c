"""Slack Block Kit bodies for every message kind: pure rendering, pinned by golden files."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from alerting.incidents.incidents import Incident, Notice
from alerting.rules.decisions import TierReading
from alerting.rules.message_words import burn, clock, counted, duration, tier_words, times, what_happened
from schemas.slo_spec import Source

Body = dict[str, Any]
ICONS = {"page": ":rotating_light: PAGE", "ticket": ":ticket: TICKET"}
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


def said(value: str) -> str:
    """A name from an event or a caller, as mrkdwn shows it and never acts on it: Slack's three escapes, so that
    `<!channel>` is text, not a ping, and `<https://…|Open runbook>` is text, not a link."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _route(incident: Incident) -> str:
    _, _, provider, model, client = incident.key
    return f"{said(provider)} {said(model)} ({said(client)})"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(lines: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": "\n".join(line for line in lines if line)}]}


def _route_fields(reading: TierReading) -> list[dict[str, Any]]:
    """The route's first two parts, named as the SLO's source names them (provider and model for requests; platform
    and model for sessions; tool and platform for tool calls)."""
    first, second, _ = reading.dimension
    word_first, word_second, _ = reading.slo.route_words
    return [{"type": "mrkdwn", "text": f"*{word_first.title()}:*\n{said(first)}"},
            {"type": "mrkdwn", "text": f"*{word_second.title()}:*\n{said(second or '(none)')}"}]


def _fields(reading: TierReading) -> dict[str, Any]:
    """The seed's fields: provider, model, the long window's burn rate against the tier's, the window."""
    return {
        "type": "section",
        "fields": [
            *_route_fields(reading),
            {"type": "mrkdwn", "text": f"*Burn rate:*\n{burn(reading.burn_long)} (threshold: {reading.window.burn_rate}x)"},
            {"type": "mrkdwn", "text": f"*Window:*\n{reading.window.long_minutes} min"},
        ],
    }


def _resolved_fields(reading: TierReading, incident: Incident) -> dict[str, Any]:
    """A resolve's fields: the short window's burn now (what ended it) beside the peak, never a burn that reads as
    still tripping."""
    window = reading.window
    return {
        "type": "section",
        "fields": [
            *_route_fields(reading),
            {"type": "mrkdwn", "text": f"*Burn rate now:*\n{burn(reading.burn_short)} over the last {window.short_minutes} "
                                       f"min (trips at {window.burn_rate}x)"},
            {"type": "mrkdwn", "text": f"*Peak burn:*\n{burn(incident.peak_burn)}"},
        ],
    }


def _links(incident: Incident, reading: TierReading) -> list[str]:
    values = {"slo": incident.slo, "severity": incident.severity, "provider": incident.key[2], "model": incident.key[3],
              "client": incident.key[4], "incident_id": incident.id, "tick": f"{reading.end:%Y-%m-%dT%H:%M:%SZ}"}
    runbook = reading.slo.link(reading.slo.runbook_url, **values)
    dashboard = reading.slo.link(reading.slo.dashboard_url, **values)
    return [f"<{runbook}|Runbook>" if runbook else "", f"<{dashboard}|Dashboard>" if dashboard else ""]


def page_links(incident: Incident, public_url: str | None, source: Source = "requests") -> list[str]:
    """Links to the route's page (for sessions and tools, the sessions page filtered to the route) and to the incident
    on the incidents page, when the pages' address is known."""
    if not public_url:
        return []
    _, _, first, second, client = incident.key
    base = public_url.rstrip("/")
    if source == "requests":
        route = f"{base}/ui/route?{urlencode({'provider': first, 'model': second, 'client': client})}"
    else:
        names = ("platform", "model") if source == "sessions" else ("tool", "platform")
        route = f"{base}/ui/sessions?{urlencode({names[0]: first, names[1]: second, 'client': client})}"
    label = "Route page" if source == "requests" else "Sessions page"
    return [f"<{route}|{label}>", f"<{base}/ui/incidents#incident-{incident.id}|Incident>"]


def _title(incident: Incident, reading: TierReading) -> str:
    return f"{reading.slo.title}: {_route(incident)}"


def alert_message(notice: Notice, also: tuple[str, ...] = (), public_url: str | None = None) -> Body:
    """An incident opened or re-opened: what burns, since when, how bad, in plain words."""
    incident, reading = notice.incident, notice.reading
    assert reading is not None
    icon = ICONS[incident.severity]
    if notice.kind == "reopened":
        header = f":repeat: {icon.split(' ', 1)[1]} RE-OPENED — LLM {reading.slo.title} SLO Breach"
        since = (f"Re-opened at {clock(reading.end)}: it had resolved less than a cooldown ago and burns again "
                 f"(re-opened {times(incident.flaps(reading.end))} in the last hour). "
                 f"First bad minute {clock(incident.started_at)}.")
    else:
        header = f"{icon} — LLM {reading.slo.title} SLO Breach"
        since = (f"Started {clock(incident.started_at)} (first bad minute), "
                 f"{duration(reading.end - incident.started_at)} ago.")
    context = [tier_words(reading)]
    if notice.downgraded:
        context.append("Sent as a ticket: this client or model is not page-eligible.")
    if notice.held_by:
        context.append(said(notice.held_by))
    if also:
        context.append(f"Also failing on {said(incident.key[2])}: {counted(len(also), 'more model')} "
                       f"({', '.join(said(m) for m in also[:5])}{', …' if len(also) > 5 else ''}).")
    links = [*page_links(incident, public_url, reading.slo.source), *_links(incident, reading)]
    context.append(" · ".join(link for link in links if link))
    return {
        "text": f"{header}: {_route(incident)}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            _fields(reading),
            _section("\n".join(what_happened(reading)) + f"\nClient: {said(incident.key[4])}"),
            _section(f"{since}\nIncident `{incident.id}`"),
            _context(context),
        ],
    }


def resolve_message(notice: Notice, public_url: str | None = None) -> Body:
    """How long it lasted, how many bad events it had, its peak burn; and whether traffic simply stopped."""
    incident, reading = notice.incident, notice.reading
    header = f":white_check_mark: RESOLVED ({incident.severity.upper()}) — LLM {incident.slo} SLO"
    if reading is not None:
        header = f":white_check_mark: RESOLVED ({incident.severity.upper()}) — LLM {reading.slo.title} SLO"
    unit = reading.slo.unit if reading is not None else "request"
    summary = (
        f"Lasted {duration(incident.lasted())}, "
        f"from {clock(incident.started_at)} to {clock(incident.resolved_at or incident.judged_at)}. "
        f"{incident.bad:,} bad {unit}s of {incident.total:,} while it was open; peak burn {burn(incident.peak_burn)}."
    )
    lines = [summary]
    if reading is None:
        lines.append("Its SLO is no longer evaluated for this route: removed from the policy, or turned off by an override.")
    elif reading.short.total < reading.slo.gate_for_window():
        lines.append(
            f"Too little traffic to judge in the last {reading.window.short_minutes} min "
            f"({reading.short.total} {unit}s): the route may have been taken out of rotation."
        )
    else:
        lines.append(f"No tier of this severity trips any more: {tier_words(reading)}")
    if incident.reopened:
        lines.append(f"It re-opened {times(len(incident.reopened))}.")
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    if reading is not None:
        blocks.append(_resolved_fields(reading, incident))
    source = reading.slo.source if reading is not None else "requests"
    context = " · ".join([f"Incident `{incident.id}`", *page_links(incident, public_url, source)])
    blocks += [_section("\n".join(lines) + f"\nClient: {said(incident.key[4])}"), _context([context])]
    return {"text": f"{header}: {_route(incident)}", "blocks": blocks}


def group_message(severity: str, notices: list[Notice], grouped_by: str, public_url: str | None = None) -> Body:
    """Many incidents of one provider or client in one minute: one message that lists them."""
    resolved = notices[0].kind == "resolved"
    header = (
        f":white_check_mark: RESOLVED ({severity.upper()}) — {len(notices)} SLO incidents {grouped_by}"
        if resolved
        else f"{ICONS[severity]} — {len(notices)} SLO breaches {grouped_by}"
    )
    lines = []
    for notice in notices[:20]:
        incident, reading = notice.incident, notice.reading
        what = (f"{incident.slo} · {said(incident.key[3])} · {said(incident.key[4])}" if reading is None
                else _title(incident, reading))
        if resolved:
            lines.append(f"• {what} — lasted {duration(incident.lasted())}, peak burn {burn(incident.peak_burn)}")
        else:
            numbers = f"{reading.long.bad:,} of {reading.long.total:,} bad, burn {burn(reading.burn_long)}" if reading else ""
            lines.append(
                f"• {what} — {numbers}, since {clock(incident.started_at)}"
                + (" (re-opened)" if notice.kind == "reopened" else "")
            )
    if len(notices) > 20:
        lines.append(f"…and {len(notices) - 20} more.")
    note = "Each incident is tracked, and resolves, on its own."
    if public_url:
        note += f" <{public_url.rstrip('/')}/ui/incidents|Incidents>"
    return {
        "text": said(header),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            _section("\n".join(lines)),
            _context([note]),
        ],
    }


def plain_text(body: Body) -> str:
    """A message as a person reads it in Slack, for a console: its text, then the words of each block under it."""
    lines = [str(body.get("text", ""))]
    for block in body.get("blocks", []):
        if block.get("type") == "section" and "fields" in block:
            lines.append(" · ".join(_words(f["text"]).replace(":\n", ": ") for f in block["fields"]))
        elif block.get("type") == "section":
            lines += _words(block["text"]["text"]).splitlines()
        elif block.get("type") == "context":
            lines += [line for element in block["elements"] for line in _words(element["text"]).splitlines()]
    return "\n  ".join(line for line in lines if line.strip())


def _words(mrkdwn: str) -> str:
    """Slack's mrkdwn as plain text: no bold marks, a link as its name and address."""
    return _LINK.sub(r"\2 (\1)", mrkdwn).replace("*", "")
