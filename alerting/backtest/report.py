"""A backtest as JSON and as a terminal table (pure)."""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

from alerting.backtest.minutes import MINUTE
from alerting.backtest.replay import Change, Replay, Span


def _minute(at: datetime | None) -> str | None:
    return f"{at:%Y-%m-%dT%H:%MZ}" if at is not None else None


def span_dict(span: Span, end: datetime) -> dict[str, Any]:
    severity, slo, provider, model, client = span.key
    return {
        "incident_id": span.incident_id, "severity": severity, "slo": slo, "provider": provider, "model": model,
        "client": client, "first_bad_minute": _minute(span.started_at), "opened": _minute(span.opened_at),
        "resolved": _minute(span.resolved_at), "minutes": int(((span.resolved_at or end) - span.opened_at) / MINUTE),
        "still_open_at_end": span.resolved_at is None, "notified": span.notified, "peak_burn": round(span.peak_burn, 2),
        "detection_delay_minutes": int((span.opened_at - span.started_at) / MINUTE),
    }


def replay_dict(replay: Replay) -> dict[str, Any]:
    delays = replay.delays()
    return {
        "policy": replay.policy_name,
        "routes": replay.routes,
        "seconds": round(replay.seconds, 2),
        "notifications": {severity: dict(sorted(days.items())) for severity, days in replay.sent.items()},
        "notifications_total": {severity: sum(days.values()) for severity, days in replay.sent.items()},
        "silenced_decisions": replay.silenced,
        "time_in_alert_minutes": replay.time_in_alert(),
        "detection_delay_minutes": {"median": median(delays) if delays else None, "max": max(delays) if delays else None},
        "incidents": [span_dict(s, replay.end) for s in replay.spans],
    }


def _change_dict(change: Change, end: datetime) -> dict[str, Any]:
    return {"before": span_dict(change.before, end) if change.before else None,
            "after": span_dict(change.after, end) if change.after else None}


def report_dict(current: Replay, candidate: Replay | None, diff: dict[str, list[Change]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"from": _minute(current.start), "to": _minute(current.end), "current": replay_dict(current)}
    if candidate is not None and diff is not None:
        body["candidate"] = replay_dict(candidate)
        body["difference"] = {kind: [_change_dict(c, current.end) for c in changes] for kind, changes in diff.items()}
    return body


def _row(d: dict[str, Any]) -> str:
    route = f"{d['provider']} {d['model']} ({d['client']})"
    resolved = d["resolved"][11:] if d["resolved"] else "open"
    return (f"  {d['severity']:<6} {d['slo']:<14} {route:<48} {d['opened'][5:]:<13} {resolved:<7} {d['minutes']:>6} "
            f"{d['detection_delay_minutes']:>5}")


def replay_table(d: dict[str, Any]) -> list[str]:
    """One replay (`replay_dict`) as lines."""
    total, delay, minutes = d["notifications_total"], d["detection_delay_minutes"], d["time_in_alert_minutes"]
    lines = [
        f"policy {d['policy']}: {len(d['incidents'])} incident openings over {d['routes']} routes, "
        f"{total.get('page', 0)} page and {total.get('ticket', 0)} ticket messages, "
        f"{minutes['page']} min paging, {minutes['ticket']} min with a ticket open",
        f"  detection delay from the first bad minute: median {delay['median']} min, max {delay['max']} min"
        + (f"; {d['silenced_decisions']} notifications held by silences" if d["silenced_decisions"] else ""),
    ]
    sent = d["notifications"]
    for day in sorted({day for per_day in sent.values() for day in per_day}):
        lines.append(f"  {day}: {sent.get('page', {}).get(day, 0)} page, {sent.get('ticket', {}).get(day, 0)} ticket")
    if d["incidents"]:
        lines.append(f"  {'sev':<6} {'slo':<14} {'route':<48} {'opened':<13} {'resolved':<7} {'min':>6} {'delay':>5}")
        lines += [_row(span) for span in d["incidents"]]
    return lines


def report_table(body: dict[str, Any]) -> str:
    """A report (`report_dict`, or the API's answer) for a terminal."""
    lines = [f"backtest {body['from']} → {body['to']} ({body['current']['seconds']:.1f} s)", *replay_table(body["current"])]
    if "candidate" in body and "difference" in body:
        diff = body["difference"]
        lines += ["", *replay_table(body["candidate"]), "",
                  f"difference: {len(diff['added'])} added, {len(diff['removed'])} removed, {len(diff['changed'])} changed"]
        for kind, changes in diff.items():
            for change in changes:
                lines.append(f"  {kind:<8}" + _row(change["after"] or change["before"])[1:])
    return "\n".join(lines)
