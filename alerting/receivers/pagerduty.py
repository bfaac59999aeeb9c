"""PagerDuty Events API v2: trigger on open and re-open, resolve on resolve and escalation; the incident id is the
dedup_key, so a repeated trigger never opens a second PagerDuty alert."""

from __future__ import annotations

import logging

from alerting.receivers.channels import Parcel, Sent
from alerting.receivers.http_post import classify, post_within, redact
from alerting.receivers.pagerduty_format import pagerduty_event

log = logging.getLogger(__name__)


class PagerDuty:
    kind = "pagerduty"

    def __init__(self, name: str, url: str, routing_key: str, timeout_s: float,
                 public_url: str | None = None) -> None:
        self._name, self._url, self._key = name, url, routing_key
        self._timeout_s, self._public_url = timeout_s, public_url

    def send(self, parcel: Parcel, deadline: float) -> Sent:
        event = pagerduty_event(parcel.notice, self._key, self._public_url, parcel.slo)
        answer = post_within(self._url, event, {}, self._timeout_s, deadline)
        sent = classify(answer, f"{answer.status} {event['event_action']}")
        sent = Sent(sent.outcome, redact(sent.answer, self._key))
        if sent.outcome != "delivered":
            log.error("PagerDuty receiver %s: %s of incident %s %s (%s)", self._name, event["event_action"],
                      parcel.notice.incident.id, sent.outcome, sent.answer)
        return sent
