"""Slack incoming webhooks (slack-sdk), and the console that stands in for them in development."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO
from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from alerting.delivery.slack_messages import plain_text
from alerting.receivers.channels import Parcel, Sent

log = logging.getLogger(__name__)

QUIET = logging.getLogger("o11y.slack_sdk")
"""slack-sdk logs the webhook URL or the token (credentials) when it retries: its own logger stays silent, we log
without them."""
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False
NO_ESCALATION = Sent("skipped", "a Slack webhook gets no message for an escalation: the page says it")


class SlackWebhook:
    """One incoming webhook. 429 (Retry-After), 5xx and refused connections are retried by slack-sdk."""

    kind = "slack_webhook"

    def __init__(self, name: str, url: str, timeout_s: int = 5, retries: int = 2) -> None:
        handlers = [
            RateLimitErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
            # Only failures before the request was sent (urllib wraps those in URLError) are safe to repeat.
            ConnectionErrorRetryHandler(max_retry_count=retries, error_types=[URLError]),
        ]
        self._name = name
        self._client = WebhookClient(url, timeout=timeout_s, retry_handlers=handlers, logger=QUIET)

    def send(self, parcel: Parcel, deadline: float = 0.0) -> Sent:
        if parcel.body is None:
            return NO_ESCALATION
        try:
            response = self._client.send_dict(parcel.body)
        except URLError as err:
            log.error("Slack webhook %s unreachable (%s); sending again next tick", self._name, type(err.reason).__name__)
            return Sent("failed", f"unreachable ({type(err.reason).__name__})")
        except Exception as err:  # noqa: BLE001 - sent, but no answer: the outcome is unknown
            log.error("Slack webhook %s gave no answer (%s); not sending again, to avoid a duplicate", self._name,
                      type(err).__name__)
            return Sent("unconfirmed", f"no answer ({type(err).__name__})")
        if response.status_code != 200:
            final = 400 <= response.status_code < 500 and response.status_code != 429
            what = "refused for good (the webhook needs a person)" if final else "sending again next tick"
            log.error("Slack webhook %s answered %d %s; %s", self._name, response.status_code, response.body[:100], what)
            return Sent("rejected" if final else "failed", f"HTTP {response.status_code} {response.body[:100]}".strip())
        return Sent("delivered", "ok")


class ConsoleNotifier:
    """Development without credentials: the message is printed in words (its Block Kit JSON at debug level only), and
    counts as delivered."""

    kind = "console"

    def __init__(self, out: TextIO | None = None, name: str = "console") -> None:
        self._out = out
        self._name = name

    def print(self, severity: str, body: dict[str, Any]) -> None:
        print(f"[{severity.upper()}] {plain_text(body)}", file=self._out or sys.stdout, flush=True)
        log.debug("%s message as Slack would get it: %s", severity, json.dumps(body, ensure_ascii=False))

    def send(self, parcel: Parcel, deadline: float = 0.0) -> Sent:
        if parcel.body is None:
            return NO_ESCALATION
        self.print(parcel.notice.incident.severity, parcel.body)
        return Sent("delivered", "printed")
