"""Sending a tick's parcels: each to its receiver's channel, in parallel, within the tick's send budget."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TextIO

from alerting.delivery.slack_messages import plain_text
from alerting.receivers.channels import Channel, Parcel, Sent
from alerting.receivers.receipts import step_of

LATE = Sent("unconfirmed", "no answer within the tick's send budget")
UNKNOWN = Sent("rejected", "no such receiver")


class Receivers:
    """The policy's receivers by name. A send still running when the budget ends is `unconfirmed` (never sent again)."""

    def __init__(self, channels: Mapping[str, Channel], budget_s: float, workers: int = 8) -> None:
        self.channels = dict(channels)
        self._budget_s = budget_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alert-send")

    def where(self) -> str:
        """`this console`, or the receivers by name and kind: what `o11y dev` says it notifies."""
        kinds = {name: channel.kind for name, channel in self.channels.items()}
        if all(kind == "console" for kind in kinds.values()):
            return "this console"
        return ", ".join(f"{name} ({kind})" for name, kind in kinds.items())

    def kind(self, receiver: str) -> str:
        channel = self.channels.get(receiver)
        return channel.kind if channel is not None else "unknown"

    def send(self, parcels: list[Parcel]) -> list[Sent]:
        if not parcels:
            return []
        deadline = time.monotonic() + self._budget_s
        futures = [self._pool.submit(self._one, parcel, deadline) for parcel in parcels]
        done, _ = wait(futures, timeout=self._budget_s)
        return [f.result() if f in done and f.exception() is None else LATE for f in futures]

    def _one(self, parcel: Parcel, deadline: float) -> Sent:
        channel = self.channels.get(parcel.receiver)
        return channel.send(parcel, deadline) if channel is not None else UNKNOWN


class DryRun:
    """`--dry-run`: which receivers each notice would reach goes to stderr (stdout is for the decisions); nothing is
    sent."""

    def __init__(self, kinds: Mapping[str, str], out: TextIO | None = None) -> None:
        self._kinds = dict(kinds)
        self._out = out

    def kind(self, receiver: str) -> str:
        return self._kinds.get(receiver, "unknown")

    def send(self, parcels: list[Parcel]) -> list[Sent]:
        out = self._out or sys.stderr
        for parcel in parcels:
            incident = parcel.notice.incident
            route = " ".join(incident.key[2:])
            what = plain_text(parcel.body) if parcel.body else f"{parcel.notice.kind}: {incident.slo} {route}"
            steps = ", ".join(sorted({step_of(n.kind, n.incident) for n in parcel.notices}))
            print(f"would send {incident.severity} to {parcel.receiver} ({self.kind(parcel.receiver)}), {steps}: {what}",
                  file=out, flush=True)
        return [Sent("dry_run", "dry run")] * len(parcels)
