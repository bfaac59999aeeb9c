"""Delivering messages: Slack incoming webhooks with slack-sdk's retry handlers, or the console in development."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Protocol, TextIO

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def send(self, severity: str, body: dict[str, Any]) -> bool:
        """True once the destination accepted the message."""
        ...


class SlackWebhooks:
    """One webhook per severity; 429 (Retry-After), 5xx and connection errors are retried by slack-sdk."""

    def __init__(self, page_url: str | None, ticket_url: str | None, timeout_s: int = 5, retries: int = 2) -> None:
        handlers = [
            RateLimitErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
            ConnectionErrorRetryHandler(max_retry_count=retries),
        ]
        self._clients = {
            severity: WebhookClient(url, timeout=timeout_s, retry_handlers=handlers)
            for severity, url in (("page", page_url), ("ticket", ticket_url))
            if url
        }

    def send(self, severity: str, body: dict[str, Any]) -> bool:
        client = self._clients.get(severity)
        if client is None:
            log.error("no Slack webhook configured for %s alerts", severity)
            return False
        try:
            response = client.send_dict(body)
        except Exception as err:  # noqa: BLE001 - undelivered: retried next tick
            log.error("Slack %s webhook failed: %s", severity, type(err).__name__)
            return False
        if response.status_code != 200:
            log.error("Slack %s webhook answered %d", severity, response.status_code)
            return False
        return True


class ConsoleNotifier:
    """Development without webhooks: the message is printed, and counts as delivered."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out

    def send(self, severity: str, body: dict[str, Any]) -> bool:
        print(f"[{severity.upper()}] {body.get('text', '')}\n{json.dumps(body, indent=2)}", file=self._out, flush=True)
        return True
