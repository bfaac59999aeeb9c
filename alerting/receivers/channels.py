"""The port every receiver kind implements, and what a tick hands it: one parcel, one answer, never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from alerting.incidents.incidents import Notice
from alerting.incidents.silences import Silence
from alerting.receivers.receipts import Outcome, Receipt
from schemas.slo_spec import SloSpec

Body = dict[str, Any]


@dataclass(frozen=True)
class Parcel:
    """What one receiver is asked to say in a tick: one notice (several for a grouped Slack webhook message)."""

    receiver: str
    notices: tuple[Notice, ...]
    step: str
    """The notices' step (`open:N`, `resolved:N`, `escalated`), or `sync` to bring a Slack message up to date."""
    receipt: Receipt | None = None
    """What this receiver has of the (first) incident."""
    body: Body | None = None
    """A grouped or pre-rendered Slack message (`slack_webhook`)."""
    slo: SloSpec | None = None
    silence: Silence | None = None
    """The silence that holds the incident now (a Slack app message says so)."""
    escalated_to: str = ""
    """The page that took over an escalated ticket (its incident id)."""

    @property
    def notice(self) -> Notice:
        return self.notices[0]


@dataclass(frozen=True)
class Sent:
    """A receiver's answer. `delivered`: it took it. `failed`: it certainly did not (refused, or an error answer): sent
    again next tick. `unconfirmed`: the request went out and no answer came: never sent again."""

    outcome: Outcome
    answer: str
    """What it answered, in a few words, without a credential."""
    thread: str = ""
    shown: str = ""


class Channel(Protocol):
    """One receiver. `send` never raises, answers by `deadline` (a `time.monotonic()` value; retries only within it)
    and never logs a credential."""

    kind: str

    def send(self, parcel: Parcel, deadline: float) -> Sent: ...
