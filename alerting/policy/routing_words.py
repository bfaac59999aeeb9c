"""Where notifications go, in sentences: each receiver, each route and each override that names receivers (pure)."""

from __future__ import annotations

from schemas.alert_policy import AlertPolicy
from schemas.receivers import Receiver, RouteMatch, default_routes

KIND_WORDS = {"slack_webhook": "Slack incoming webhook", "slack_app": "Slack app, one message per incident with a thread",
              "pagerduty": "PagerDuty Events API v2", "webhook": "Alertmanager-format webhook (version 4)"}


def receiver_words(receiver: Receiver) -> str:
    credentials = " and ".join(s.where() for s in receiver.credentials())
    target = f", channel {receiver.channel}" if receiver.kind == "slack_app" else ""
    url = getattr(receiver, "url", None)
    address = f", {url}" if url is not None and receiver.kind in ("pagerduty", "webhook") else ""
    said = f"credential from {credentials}" if credentials else "no credential"
    return f"  {receiver.name}: {KIND_WORDS[receiver.kind]}{target}{address}; {said}"


def match_words(match: RouteMatch) -> str:
    parts = [f"{match.severity}s" if match.severity else "every notification"]
    parts += [f"{name} {getattr(match, name)}" for name in ("slo", "provider", "model", "client")
              if getattr(match, name) is not None]
    return parts[0] + (" of " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def routing_words(policy: AlertPolicy) -> list[str]:
    declared = "" if policy.receivers else " (none declared: the two Slack webhooks, pages and tickets apart)"
    lines = [f"Receivers{declared}:", *(receiver_words(r) for r in policy.effective_receivers())]
    lines.append("Routes (the most specific match wins; an override that names receivers comes first):")
    for source, overrides in (("policy file", policy.overrides), ("admin API", policy.live_overrides)):
        for override in overrides:
            if override.receivers:
                lines.append(f"  override {override.match.key()} ({source}): to {', '.join(override.receivers)}")
    routes = policy.routes or default_routes()
    for route in sorted(routes, key=lambda r: r.match.route_specificity(), reverse=True):
        default = " (the default route)" if route.match == RouteMatch() else ""
        comment = f" — {route.comment}" if route.comment else ""
        lines.append(f"  {match_words(route.match)}{default}: to {', '.join(route.receivers)}{comment}")
    return lines

