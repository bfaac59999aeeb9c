"""The Slack app's one message per incident, edited as its state changes, and the replies in its thread (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerting.delivery.slack_messages import ICONS, Body, alert_message, page_links, resolve_message, said
from alerting.incidents.incidents import Incident, Notice
from alerting.incidents.silences import Silence
from alerting.receivers.pagerduty_format import cut, own, route_words, title
from alerting.rules.message_words import burn, clock, duration, times
from schemas.slo_spec import SloSpec

HEADER_LIMIT, SECTION_LIMIT, FIELD_LIMIT = 150, 3000, 2000
"""Slack's limits on a header's text, a section's text (and a context element's), a field's text."""


def parent_state(incident: Incident, silence_id: str = "") -> str:
    """What the parent shows, as a key: when it changes, the parent is edited ("open", "reopened:2", "silenced:<id>",
    "escalated", "resolved:1"). An incident that ended shows that, silenced or not."""
    if incident.status == "resolved":
        return f"resolved:{len(incident.reopened)}"
    if incident.status == "escalated":
        return "escalated"
    if silence_id:
        return f"silenced:{silence_id}"
    return f"reopened:{len(incident.reopened)}" if incident.reopened else "open"


def _at(at: datetime, now: datetime) -> str:
    """'14:00 UTC', with the date when it is not today's (a silence may last for days)."""
    return clock(at) if at.date() == now.date() else f"{at:%Y-%m-%d} {clock(at)}"


def _state_line(incident: Incident, silence: Silence | None, escalated_to: str) -> str:
    end = incident.resolved_at or incident.judged_at
    if incident.status == "escalated":
        page = f": incident `{said(escalated_to)}`" if escalated_to else ""
        return f":arrow_up: Escalated to a page at {clock(end)}{page}."
    if incident.status == "resolved":
        again = f"; it re-opened {times(len(incident.reopened))}" if incident.reopened else ""
        return f":white_check_mark: Resolved at {clock(end)} after {duration(incident.lasted())}{again}."
    if silence is not None:
        return (f":mute: Silenced until {_at(silence.ends_at, incident.judged_at)} by {said(silence.created_by)}: "
                f"{said(silence.comment)}")
    if incident.reopened:
        return f":repeat: Re-opened ×{len(incident.reopened)} (last at {clock(incident.reopened[-1])})"
    return f":red_circle: Open since {clock(incident.opened_at)}"


def _field(name: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": cut(f"*{name}:*\n{value}", FIELD_LIMIT)}


def _fields(incident: Incident, slo: SloSpec | None) -> list[dict[str, str]]:
    """The route by its parts' names, the SLO, the tier; the counts when the incident counts anything."""
    fields = []
    if any(incident.dimension):
        fields += [_field(word.title(), said(value or "(none)"))
                   for word, value in zip(route_words(slo), incident.dimension, strict=True)]
    fields += [_field("SLO", f"{said(title(incident, slo))} (`{said(incident.slo)}`)"),
               _field("Tier", f"{said(incident.tier)} ({incident.severity})")]
    if incident.total:
        unit = slo.unit if slo is not None else "event"
        fields += [_field("Peak burn", burn(incident.peak_burn)),
                   _field(f"Bad {unit}s", f"{incident.bad:,} of {incident.total:,}")]
    return fields


def _route_text(incident: Incident) -> str:
    if not any(incident.dimension):
        return ""
    first, second, client = incident.dimension
    return f": {said(first)} {said(second or '(none)')} ({said(client)})"


def _links(incident: Incident, slo: SloSpec | None, public_url: str | None) -> list[str]:
    links = page_links(incident, public_url, slo.source if slo is not None else "requests")
    return links[1:] if own(incident) and links else links


def _blocks(header: str, sections: list[str], context: str,
            fields: list[dict[str, str]] | None = None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": cut(header, HEADER_LIMIT)}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}} for text in sections]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    return [*blocks, {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(context, SECTION_LIMIT)}]}]


def parent_message(incident: Incident, slo: SloSpec | None, silence: Silence | None, public_url: str | None,
                   escalated_to: str = "") -> Body:
    """The incident's one message, from the incident alone: what burns where, its state now, the numbers so far.
    `escalated_to`: the id of the page that took over an escalated ticket, when known."""
    header = f"{ICONS[incident.severity]} — {title(incident, slo)}"
    state = _state_line(incident, silence if incident.open else None, escalated_to)
    context = " · ".join([f"Incident `{incident.id}`", *_links(incident, slo, public_url)])
    return {"text": f"{said(header)}{_route_text(incident)} · {state}",
            "blocks": _blocks(header, [state], context, _fields(incident, slo))}


def _short(header: str, line: str, incident: Incident) -> Body:
    """A reply with no reading to tell from: its header and one line."""
    return {"text": f"{said(header)}{_route_text(incident)} · {line}",
            "blocks": _blocks(header, [line], f"Incident `{incident.id}`")}


def reply_message(notice: Notice, public_url: str | None, slo: SloSpec | None = None) -> Body:
    """The thread reply of a state change: the details of an opening or re-opening, the resolve, the escalation.
    `slo` names the incident when the notice has no reading (default: its reading's SLO)."""
    incident, reading = notice.incident, notice.reading
    slo = reading.slo if reading is not None else slo
    end = incident.resolved_at or incident.judged_at
    if notice.kind == "escalated":
        line = (f":arrow_up: Escalated: now paging as {ICONS['page']} — {said(title(incident, slo))}"
                f"{_route_text(incident)}. The page of the same SLO and route carries it from {clock(end)}.")
        header = f":arrow_up: ESCALATED TO A PAGE — {title(incident, slo)}"
        return {"text": line, "blocks": _blocks(header, [line], f"Incident `{incident.id}`")}
    if notice.kind == "resolved":
        if reading is not None:
            return resolve_message(notice, public_url)
        header = f":white_check_mark: RESOLVED ({incident.severity.upper()}) — {title(incident, slo)}"
        return _short(header, f"Lasted {duration(incident.lasted())}, from {clock(incident.started_at)} to {clock(end)}.",
                      incident)
    if reading is not None:
        return alert_message(notice, public_url=public_url)
    return _short(f"{ICONS[incident.severity]} — {title(incident, slo)}", f"Open since {clock(incident.opened_at)}.",
                  incident)
