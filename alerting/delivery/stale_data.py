"""The stale-data page: one incident while the loader is behind, resolved when data is fresh again (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from alerting.delivery.slack_messages import Body
from alerting.incidents.incidents import Incident, Notice
from alerting.rules.decisions import IncidentKey
from alerting.rules.freshness import Freshness
from alerting.rules.message_words import clock, counted, duration
from schemas.alert_policy import STALE_DATA

STALE_KEY: IncidentKey = ("page", STALE_DATA, "", "", "")


def judge_stale(incident: Incident | None, freshness: Freshness, end: datetime,
                new_id: Callable[[], str]) -> tuple[Incident | None, Notice | None]:
    """Stale: open (or keep) the incident; fresh: resolve it. Returns the incident to store and what to tell on-call."""
    is_open = incident is not None and incident.open
    if freshness.stale:
        if incident is not None and is_open:
            updated = replace(incident, judged_at=end)
        else:
            since = freshness.stale_since() or end
            updated = Incident(new_id(), STALE_KEY, "open", "freshness", since, end, end)
        return updated, None if updated.notified else Notice("opened", updated, None)
    if incident is not None and is_open:
        resolved = replace(incident, status="resolved", resolved_at=end, judged_at=end)
        return resolved, Notice("resolved", resolved, None) if resolved.notified else None
    return None, None


def stale_message(incident: Incident, freshness: Freshness, topic: str, open_incidents: int) -> Body:
    """`topic`: the watched topics; the message names those of the lagging partitions when it knows them."""
    header = ":warning: PAGE — o11y data is stale: SLOs cannot be judged"
    behind = sorted({p.topic for p in freshness.lagging() if p.topic})
    topic = ", ".join(behind) if behind else topic
    watermark = freshness.watermark
    since = (f"since {clock(watermark)} ({duration(freshness.now - watermark)} ago)" if watermark
             else "since the loader started")
    lagging = ", ".join(_partition(p.name, p.lag, p.reached_end_at) for p in freshness.lagging()[:12])
    lines = [
        f"*The loader has not loaded everything in `{topic}` {since}.*",
        f"Lagging partitions: {lagging}.",
        f"While data is stale no incident opens or resolves; {counted(open_incidents, 'open incident')} stay as they are.",
        "Check `o11y load` (its /readyz and logs), the Kafka brokers and ClickHouse.",
    ]
    return {"text": f"{header}: {topic}", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Incident `{incident.id}`"}]},
    ]}


def fresh_message(incident: Incident, topic: str) -> Body:
    header = ":white_check_mark: RESOLVED (PAGE) — o11y data is fresh again"
    text = (f"Data in `{topic}` was stale for {duration(incident.lasted())} "
            f"(from {clock(incident.started_at)} to {clock(incident.resolved_at or incident.judged_at)}). "
            "Evaluation resumed; the minutes it could not judge are judged now, oldest first.")
    return {"text": f"{header}: {topic}", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Incident `{incident.id}`"}]},
    ]}


def _partition(partition: str, lag: int, reached: datetime | None) -> str:
    when = f"last caught up {clock(reached)}" if reached else "never caught up"
    return f"{partition} ({when}, {lag:,} behind)"
