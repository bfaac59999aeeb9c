"""The policy's receivers as channels, their credentials read from the environment or files when the process starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from alerting.receivers.channels import Channel
from alerting.receivers.courier import DryRun, Receivers
from alerting.receivers.pagerduty import PagerDuty
from alerting.receivers.slack_app import SlackApp
from alerting.receivers.slack_webhook import ConsoleNotifier, SlackWebhook
from alerting.receivers.webhook import AlertmanagerWebhook
from runtime.settings import Settings
from schemas.alert_policy import AlertPolicy
from schemas.receivers import (
    PagerDutyReceiver,
    Receiver,
    Secret,
    SlackAppReceiver,
    SlackWebhookReceiver,
    WebhookReceiver,
)

MAX_SECRET_BYTES = 65_536


def read_secret(secret: Secret, settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The credential, or None when it is not there; the two webhooks' variables are the settings' own."""
    if secret.env is not None:
        own = {"O11Y_SLACK_PAGE_WEBHOOK_URL": settings.slack_page_webhook_url,
               "O11Y_SLACK_TICKET_WEBHOOK_URL": settings.slack_ticket_webhook_url}
        if secret.env in own:
            value = own[secret.env]
            return value.get_secret_value() if value is not None else None
        return environ.get(secret.env, "").strip() or None
    try:
        with Path(secret.file or "").open("rb") as file:
            return file.read(MAX_SECRET_BYTES).decode().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def build_sender(settings: Settings, policy: AlertPolicy, console_allowed: bool = False,
                 environ: Mapping[str, str] | None = None, console: TextIO | None = None) -> Receivers:
    """Every receiver of the policy; one whose credential is missing stops the start, or prints to the console where
    that was asked for (`o11y dev`)."""
    environ = os.environ if environ is None else environ
    channels: dict[str, Channel] = {}
    missing: list[str] = []
    for receiver in policy.effective_receivers():
        values = [read_secret(secret, settings, environ) for secret in receiver.credentials()]
        absent = [secret.env or secret.file or "" for secret, value in zip(receiver.credentials(), values, strict=True)
                  if value is None]
        if absent:
            missing += absent
            if console_allowed:
                channels[receiver.name] = ConsoleNotifier(console, receiver.name)
            continue
        channels[receiver.name] = _channel(receiver, [v for v in values if v is not None], settings, policy)
    if missing and not console_allowed:
        raise ValueError(f"{' and '.join(missing)} must be set: o11y alert never prints pages instead")
    return Receivers(channels, settings.alert_send_budget_s)


def dry_run_sender(policy: AlertPolicy, out: TextIO | None = None) -> DryRun:
    return DryRun({r.name: r.kind for r in policy.effective_receivers()}, out)


def _channel(receiver: Receiver, secrets: list[str], settings: Settings, policy: AlertPolicy) -> Channel:
    timeout = settings.alert_send_timeout_s
    if isinstance(receiver, SlackWebhookReceiver):
        return SlackWebhook(receiver.name, secrets[0], timeout_s=timeout)
    if isinstance(receiver, SlackAppReceiver):
        api_url = str(receiver.api_url).rstrip("/") + "/"  # slack-sdk appends the method's name
        return SlackApp(receiver.name, secrets[0], receiver.channel, api_url, timeout, settings.public_url)
    if isinstance(receiver, PagerDutyReceiver):
        return PagerDuty(receiver.name, str(receiver.url), secrets[0], timeout, settings.public_url)
    assert isinstance(receiver, WebhookReceiver)
    return AlertmanagerWebhook(receiver.name, str(receiver.url), secrets[0] if secrets else None, timeout,
                               settings.public_url or "", policy.slo, receiver.send_resolved)
