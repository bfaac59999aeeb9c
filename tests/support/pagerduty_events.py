"""What PagerDuty's Events API v2 refuses in an event, and what an accepted event does to the alert behind its dedup_key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_EVENT_BYTES = 512_000
"""Events API v2 limits an event to 512 KB; the stricter reading (Alertmanager's maxEventSize is 512000 too)."""
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


def event_errors(event: Any, size: int) -> list[str]:
    """The `errors[]` of a 400 "Event object is invalid" answer; [] when PagerDuty accepts the event. The texts follow
    PagerDuty's where issue threads quote them (the routing_key, summary and severity ones), its wording elsewhere."""
    if not isinstance(event, dict):
        return ["Event object is not a JSON object"]
    errors = [f"Event is too large ({size} bytes, maximum is 512 KB)"] if size > MAX_EVENT_BYTES else []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or blank" if not action else
                      f"'event_action' is invalid (must be one of: {', '.join(ACTIONS)})")
    errors += _dedup_key_errors(event.get("dedup_key"), required=action in ("acknowledge", "resolve"))
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    errors += _list_errors(event.get("links"), "links", "href") + _list_errors(event.get("images"), "images", "src")
    return errors


def _dedup_key_errors(dedup_key: Any, required: bool) -> list[str]:
    if dedup_key is None or dedup_key == "":
        return ["'dedup_key' is missing or blank (required to acknowledge or resolve)"] if required else []
    if not isinstance(dedup_key, str):
        return ["'dedup_key' must be a string"]
    return ["'dedup_key' is too long (maximum is 255 characters)"] if len(dedup_key) > 255 else []


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors = [f"'payload.{name}' is missing or blank" for name in ("summary", "source", "severity")
              if not isinstance(payload.get(name), str) or not payload[name].strip()]
    if isinstance(payload.get("summary"), str) and len(payload["summary"]) > 1024:
        errors.append("'summary' is too long (maiximum is 1024 characters)")  # sic: PagerDuty's own text (dagster#19567)
    if payload.get("severity") and payload["severity"] not in SEVERITIES:
        errors.append(f"'payload.severity' is invalid (must be one of: {', '.join(SEVERITIES)})")
    if "timestamp" in payload and not _iso8601(payload["timestamp"]):
        errors.append("'payload.timestamp' is not an ISO 8601 date-time")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _iso8601(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value) is not None
    except ValueError:
        return False


def _list_errors(items: Any, name: str, required: str) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"'{name}' must be an array"]
    return [f"'{name}[{i}].{required}' is missing or blank" for i, item in enumerate(items)
            if not isinstance(item, dict) or not isinstance(item.get(required), str) or not item[required]]


@dataclass
class Alert:
    """One PagerDuty alert: opened by a trigger, ended by a resolve; a trigger on a resolved key opens another."""

    routing_key: str
    dedup_key: str
    summary: str
    status: str = "triggered"
    """triggered, acknowledged or resolved"""
    triggers: int = 1
    """Trigger events applied to it (repeats add to its log, they open no second alert)."""


def apply(alerts: list[Alert], event: dict[str, Any]) -> str:
    """Apply a valid event as PagerDuty does per (routing_key, dedup_key); the dedup_key the answer names. An
    acknowledge or resolve for no open alert (unknown, resolved or sent with another routing key) changes nothing."""
    dedup_key = event.get("dedup_key") or uuid.uuid4().hex
    key = (event["routing_key"], dedup_key)
    current = next((a for a in alerts if (a.routing_key, a.dedup_key) == key and a.status != "resolved"), None)
    action = event["event_action"]
    if action == "trigger" and current is None:
        alerts.append(Alert(event["routing_key"], dedup_key, event["payload"]["summary"]))
    elif action == "trigger" and current is not None:
        current.triggers += 1
    elif action == "acknowledge" and current is not None and current.status == "triggered":
        current.status = "acknowledged"
    elif action == "resolve" and current is not None:
        current.status = "resolved"
    return str(dedup_key)
