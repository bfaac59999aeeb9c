"""Delivering messages: Slack incoming webhooks (slack-sdk), or the console in development; a tick's sends in parallel."""

from __future__ import annotations

import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Literal, Protocol, TextIO
from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from alerting.delivery.slack_messages import plain_text

log = logging.getLogger(__name__)

Delivery = Literal["delivered", "failed", "unknown"]

_QUIET = logging.getLogger("o11y.slack_sdk")
"""slack-sdk logs the webhook URL (a credential) when it retries: its own logger stays silent, we log without it."""
_QUIET.setLevel(logging.CRITICAL + 1)
_QUIET.propagate = False


class Notifier(Protocol):
    def send(self, severity: str, body: dict[str, Any]) -> Delivery:
        """Post one message; never raises, bounded by its own timeouts.

        "delivered": the destination accepted it. "failed": it certainly did not (refused, or answered an
        error), so sending again is safe. "unknown": the request went out and no answer came; it is never
        sent again, because a duplicate page costs on-call more than the rare lost one.
        """
        ...


class SlackWebhooks:
    """One webhook per severity. 429 (Retry-After), 5xx and refused connections are retried by slack-sdk."""

    def __init__(self, page_url: str | None, ticket_url: str | None, timeout_s: int = 5, retries: int = 2) -> None:
        handlers = [
            RateLimitErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
            # Only failures before the request was sent (urllib wraps those in URLError) are safe to repeat.
            ConnectionErrorRetryHandler(max_retry_count=retries, error_types=[URLError]),
        ]
        self._clients = {
            severity: WebhookClient(url, timeout=timeout_s, retry_handlers=handlers, logger=_QUIET)
            for severity, url in (("page", page_url), ("ticket", ticket_url))
            if url
        }

    def send(self, severity: str, body: dict[str, Any]) -> Delivery:
        client = self._clients.get(severity)
        if client is None:
            log.error("no Slack webhook configured for %s alerts", severity)
            return "failed"
        try:
            response = client.send_dict(body)
        except URLError as err:
            log.error("Slack %s webhook unreachable (%s); sending again next tick", severity, type(err.reason).__name__)
            return "failed"
        except Exception as err:  # noqa: BLE001 - sent, but no answer: the outcome is unknown
            log.error("Slack %s webhook gave no answer (%s); not sending again, to avoid a duplicate", severity,
                      type(err).__name__)
            return "unknown"
        if response.status_code != 200:
            log.error("Slack %s webhook answered %d; sending again next tick", severity, response.status_code)
            return "failed"
        return "delivered"


class ConsoleNotifier:
    """Development without webhooks: the message is printed in words (its Block Kit JSON at debug level only), and
    counts as delivered."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    def send(self, severity: str, body: dict[str, Any]) -> Delivery:
        print(f"[{severity.upper()}] {plain_text(body)}", file=self._out or sys.stdout, flush=True)
        log.debug("%s message as Slack would get it: %s", severity, json.dumps(body, ensure_ascii=False))
        return "delivered"


class Courier:
    """Sends a tick's messages in parallel within a time budget; a send still running at the deadline is "unknown"."""

    def __init__(self, notifier: Notifier, budget_s: float, workers: int = 8) -> None:
        self._notifier = notifier
        self._budget_s = budget_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alert-send")

    def deliver(self, messages: list[tuple[str, dict[str, Any]]]) -> list[str]:
        if not messages:
            return []
        futures = [self._pool.submit(self._notifier.send, severity, body) for severity, body in messages]
        done, _ = wait(futures, timeout=self._budget_s)
        outcomes: list[str] = []
        for future in futures:
            outcomes.append(future.result() if future in done and future.exception() is None else "unknown")
        return outcomes


class DryRun:
    """`--dry-run`: what would be sent goes to stderr (stdout is for the decisions), nothing is sent."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._console = ConsoleNotifier(out or sys.stderr)

    def deliver(self, messages: list[tuple[str, dict[str, Any]]]) -> list[str]:
        for severity, body in messages:
            self._console.send(f"would send {severity}", body)
        return ["dry_run"] * len(messages)
