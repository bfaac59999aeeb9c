"""Receivers and routes of the alert policy: where each incident's notifications go (validated, no I/O).

A receiver is a named destination of one kind: `slack_webhook` (an incoming webhook, today's messages), `slack_app`
(a bot token and a channel: one message per incident, updated in place, with a thread), `pagerduty` (Events API v2)
or `webhook` (Alertmanager's webhook payload, version 4). Credentials are never written in the policy: each names the
environment variable or the file that holds it. Routes match an incident's SLO, severity and route (names or globs,
the most specific first, like overrides) and name receivers; the route with an empty match is the default.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, field_validator, model_validator

from schemas.slo_overrides import OverrideMatch
from schemas.slo_spec import Severity, _Spec

RECEIVER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,40}")
MAX_RECEIVERS = 50
MAX_ROUTES = 500
PAGE_WEBHOOK, TICKET_WEBHOOK = "slack-page", "slack-ticket"
"""The zero-configuration receivers: the two Slack webhooks of O11Y_SLACK_PAGE_WEBHOOK_URL and
O11Y_SLACK_TICKET_WEBHOOK_URL, pages to the first and tickets to the second."""
SLACK_API_URL = "https://slack.com/api/"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


class Secret(_Spec):
    """Where a credential is read from when the evaluator starts: an environment variable or a file, never the policy."""

    env: str | None = Field(default=None, max_length=128)
    file: str | None = Field(default=None, max_length=4096)

    @model_validator(mode="after")
    def _one_place(self) -> Secret:
        if (self.env is None) == (self.file is None):
            raise ValueError("name exactly one of env (an environment variable) or file (a path)")
        if self.env is not None and not ENV_NAME.fullmatch(self.env):
            raise ValueError(f"{self.env!r} is not an environment variable name")
        return self

    def where(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"


def _secret(value: object) -> object:
    if isinstance(value, str):
        raise ValueError("credentials are never written in the policy: give {env: VARIABLE} or {file: /path}")
    return value


class _Receiver(_Spec):
    name: str
    kind: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not RECEIVER_NAME.fullmatch(value):
            raise ValueError("a receiver's name is 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit")
        return value

    def credentials(self) -> tuple[Secret, ...]:
        return ()

    def words(self) -> str:
        return f"{self.name} ({self.kind})"


class SlackWebhookReceiver(_Receiver):
    """An incoming webhook: the URL is the credential."""

    kind: Literal["slack_webhook"]
    url: Secret

    _secret = field_validator("url", mode="before")(_secret)

    def credentials(self) -> tuple[Secret, ...]:
        return (self.url,)


class SlackAppReceiver(_Receiver):
    """A bot token with `chat:write` (and `channels:history` to find a message whose post went unanswered)."""

    kind: Literal["slack_app"]
    token: Secret
    channel: str = Field(min_length=3, max_length=41)
    """The channel's id (`C0123ABCD`; in Slack: the channel's details, at the bottom): a message whose post got no answer
    is looked up in the channel's history, which only takes an id."""
    api_url: HttpUrl = HttpUrl(SLACK_API_URL)

    _secret = field_validator("token", mode="before")(_secret)

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        if not CHANNEL_ID.fullmatch(value):
            raise ValueError("give the channel's id (like C0123ABCD, in the channel's details), not its name")
        return value

    def credentials(self) -> tuple[Secret, ...]:
        return (self.token,)

    def words(self) -> str:
        return f"{self.name} (slack_app, channel {self.channel})"


class PagerDutyReceiver(_Receiver):
    """Events API v2: trigger on open and re-open, resolve on resolve and escalation, the incident id as dedup_key."""

    kind: Literal["pagerduty"]
    routing_key: Secret
    url: HttpUrl = HttpUrl(PAGERDUTY_URL)
    """`https://events.eu.pagerduty.com/v2/enqueue` for an EU account."""

    _secret = field_validator("routing_key", mode="before")(_secret)

    def credentials(self) -> tuple[Secret, ...]:
        return (self.routing_key,)


class WebhookReceiver(_Receiver):
    """Alertmanager's webhook payload (version 4), for anything that receives Alertmanager's notifications."""

    kind: Literal["webhook"]
    url: HttpUrl
    bearer_token: Secret | None = None
    """Sent as `Authorization: Bearer …` when set."""
    send_resolved: bool = True

    _secret = field_validator("bearer_token", mode="before")(_secret)

    def credentials(self) -> tuple[Secret, ...]:
        return (self.bearer_token,) if self.bearer_token else ()


Receiver = Annotated[SlackWebhookReceiver | SlackAppReceiver | PagerDutyReceiver | WebhookReceiver,
                     Field(discriminator="kind")]


class RouteMatch(OverrideMatch):
    """An override's match plus the severity; a missing field (or `*`) matches anything."""

    severity: Severity | None = None

    def takes(self, key: tuple[str, str, str, str, str]) -> bool:
        severity, slo, provider, model, client = key
        return ((self.severity is None or self.severity == severity) and self.matches_slo(slo)
                and self.matches((provider, model, client)))

    def route_specificity(self) -> tuple[int, ...]:
        return (*self.specificity(), self.severity is not None)


class Route(_Spec):
    match: RouteMatch = RouteMatch()
    receivers: tuple[str, ...] = Field(min_length=1, max_length=MAX_RECEIVERS)
    comment: str | None = Field(default=None, max_length=500)


def default_receivers() -> tuple[SlackWebhookReceiver, ...]:
    return tuple(SlackWebhookReceiver(name=name, kind="slack_webhook", url=Secret(env=f"O11Y_SLACK_{sev}_WEBHOOK_URL"))
                 for name, sev in ((PAGE_WEBHOOK, "PAGE"), (TICKET_WEBHOOK, "TICKET")))


def default_routes() -> tuple[Route, ...]:
    return (Route(match=RouteMatch(severity="page"), receivers=(PAGE_WEBHOOK,)),
            Route(match=RouteMatch(severity="ticket"), receivers=(TICKET_WEBHOOK,)))


def check_routing(receivers: tuple[Receiver, ...], routes: tuple[Route, ...], named: dict[str, tuple[str, ...]]) -> None:
    """Receivers' names unique, every name a route or an override gives is a receiver, and a default route exists."""
    names = [r.name for r in receivers]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"receiver names must be unique: {', '.join(twice)}")
    if routes and not receivers:
        raise ValueError("routes name receivers: declare them under receivers")
    if receivers and not any(route.match == RouteMatch() for route in routes):
        raise ValueError("the routes need a default route (match: {}) for incidents no other route matches")
    matches = [r.match for r in routes]
    same = sorted({m.key() + (f",severity={m.severity}" if m.severity else "") for m in matches if matches.count(m) > 1})
    if same:
        raise ValueError(f"more than one route matches exactly {', '.join(same)}: merge them")
    known = names or [PAGE_WEBHOOK, TICKET_WEBHOOK]
    for where, wanted in (*((f"route {r.match.key()}", r.receivers) for r in routes), *named.items()):
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise ValueError(f"{where} names unknown receiver(s) {', '.join(unknown)}; known: {', '.join(known)}")


def route_for(routes: tuple[Route, ...], key: tuple[str, str, str, str, str]) -> Route | None:
    """The most specific route that takes the incident (the first declared among equals)."""
    taking = [(route.match.route_specificity(), -index, route) for index, route in enumerate(routes)
              if route.match.takes(key)]
    return max(taking, key=lambda t: t[:2])[2] if taking else None
