"""Alertmanager's webhook payload (version 4) to any URL: firing on open and re-open, resolved on resolve and
escalation, one stable fingerprint per incident."""

from __future__ import annotations

import logging
from collections.abc import Callable

from alerting.receivers.alertmanager_format import webhook_message
from alerting.receivers.channels import Parcel, Sent
from alerting.receivers.http_post import classify, post_within, redact
from schemas.slo_spec import SloSpec

log = logging.getLogger(__name__)


class AlertmanagerWebhook:
    kind = "webhook"

    def __init__(self, name: str, url: str, bearer: str | None, timeout_s: float,
                 external_url: str, slos: Callable[[str], SloSpec | None], send_resolved: bool = True) -> None:
        self._name, self._url = name, url
        self._headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        self._secrets = (url, *self._headers.values(), bearer or "")
        self._timeout_s = timeout_s
        self._external_url, self._slos, self._send_resolved = external_url, slos, send_resolved

    def send(self, parcel: Parcel, deadline: float) -> Sent:
        if parcel.notice.kind in ("resolved", "escalated") and not self._send_resolved:
            return Sent("skipped", "send_resolved is off")
        message = webhook_message(self._name, parcel.notices, self._external_url, self._slos)
        answer = post_within(self._url, message, self._headers, self._timeout_s, deadline)
        sent = classify(answer, f"{answer.status} {message['status']}")
        sent = Sent(sent.outcome, redact(sent.answer, *self._secrets))
        if sent.outcome != "delivered":
            log.error("webhook receiver %s: %s message of incident %s %s (%s)", self._name, message["status"],
                      parcel.notice.incident.id, sent.outcome, sent.answer)
        return sent
