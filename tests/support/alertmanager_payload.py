"""What an Alertmanager webhook message (payload version "4") holds, checked field by field as Alertmanager sends it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)
"""Go's zero time, the endsAt of a firing alert ("0001-01-01T00:00:00Z")."""
REASONS = {"first notification", "new alerts added", "some alerts resolved", "all alerts resolved", "repeat interval elapsed",
           "unknown"}
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


def fingerprint(labels: Mapping[str, str]) -> str:
    """prometheus/common model.LabelSet.Fingerprint: FNV-1a 64 over the labels sorted by name, each as name 0xFF value
    0xFF, written as 16 hex digits (the empty set gives the FNV offset basis)."""
    digest = FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            digest = ((digest ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def rfc3339(value: Any) -> datetime | None:
    """Go's time.Time in JSON: RFC 3339 with 0 to 9 fractional digits (Python keeps 6); None when it is not one."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    zone = "+00:00" if match[3] == "Z" else match[3]
    try:
        return datetime.fromisoformat(f"{match[1]}.{(match[2] or '0').ljust(6, '0')[:6]}{zone}")
    except ValueError:
        return None


def _is_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def message_problems(body: Any) -> list[str]:
    """Why Alertmanager would never have sent this body; [] for a well-formed version "4" message. Unknown keys pass
    (newer Alertmanagers add some); routeLabels and notification_reason may be absent (older ones lack them)."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    if body.get("version") != "4":
        return [f'version is {body.get("version")!r}, not "4"']
    problems = [f"{name} is not a string" for name in ("groupKey", "receiver", "externalURL", "status")
                if not isinstance(body.get(name), str)]
    problems += [f"{name} is not a map of strings" for name in ("groupLabels", "commonLabels", "commonAnnotations")
                 if not _is_map(body.get(name))]
    if "routeLabels" in body and not _is_map(body["routeLabels"]):
        problems.append("routeLabels is not a map of strings")
    truncated = body.get("truncatedAlerts")
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        problems.append("truncatedAlerts is not a count")
    if "notification_reason" in body and body["notification_reason"] not in REASONS:
        problems.append(f"notification_reason {body['notification_reason']!r} is none Alertmanager sends")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts or not all(isinstance(alert, dict) for alert in alerts):
        return [*problems, "alerts is not a list of alert objects"]
    problems += [f"alerts[{i}]: {problem}" for i, alert in enumerate(alerts) for problem in alert_problems(alert)]
    return problems or _summary_problems(body, alerts)


def alert_problems(alert: dict[str, Any]) -> list[str]:
    problems = [] if alert.get("status") in ("firing", "resolved") else [f"status {alert.get('status')!r}"]
    problems += [f"{name} is not a map of strings" for name in ("labels", "annotations") if not _is_map(alert.get(name))]
    problems += [f"{name} is not a string" for name in ("generatorURL", "fingerprint") if not isinstance(alert.get(name), str)]
    starts, ends = rfc3339(alert.get("startsAt")), rfc3339(alert.get("endsAt"))
    problems += [f"{name} is not an RFC 3339 time" for name, time in (("startsAt", starts), ("endsAt", ends)) if time is None]
    if problems or starts is None or ends is None:
        return problems
    if alert["status"] == "firing" and ends != ZERO_TIME:
        problems.append(f"a firing alert's endsAt is {alert['endsAt']}, not 0001-01-01T00:00:00Z")
    if alert["status"] == "resolved" and (ends == ZERO_TIME or ends < starts):
        problems.append(f"a resolved alert's endsAt {alert['endsAt']} is not a time at or after startsAt")
    if alert["fingerprint"] != fingerprint(alert["labels"]):
        problems.append(f"fingerprint {alert['fingerprint']} is not its labels' ({fingerprint(alert['labels'])})")
    return problems


def _summary_problems(body: dict[str, Any], alerts: list[dict[str, Any]]) -> list[str]:
    """The message's fields that Alertmanager derives from its alerts."""
    problems = []
    status = "firing" if any(alert["status"] == "firing" for alert in alerts) else "resolved"
    if body["status"] != status:
        problems.append(f"status is {body['status']!r} while the alerts make it {status!r}")
    for name, key in (("commonLabels", "labels"), ("commonAnnotations", "annotations")):
        shared = {k: v for k, v in alerts[0][key].items() if all(alert[key].get(k) == v for alert in alerts)}
        if body[name] != shared:
            problems.append(f"{name} is {body[name]} while the alerts share {shared}")
    if not body["groupLabels"].items() <= body["commonLabels"].items():
        problems.append("groupLabels are not labels every alert has")
    return problems
