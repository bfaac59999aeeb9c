"""Silences: hold back the notifications of matching incidents for a while, with who and why (pure).

A silence holds back openings and re-openings, never the resolve of a page that was delivered. A held
incident stays open and un-notified, so that when the silence ends while it still trips, it notifies then.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from alerting.incidents.incidents import Incident, Notice
from alerting.rules.decisions import IncidentKey
from alerting.rules.message_words import clock
from schemas.api_metrics import MAX_NAME
from schemas.slo_overrides import route_pattern

MAX_SILENCE = timedelta(days=90)
MAX_AHEAD = timedelta(days=366)
"""How far ahead a silence may start (and so every time it holds stays within what ClickHouse stores)."""
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


class SilenceRequest(BaseModel):
    """What a person asks for: matchers (exact or glob; missing is any), a start (default now) and an end, why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slo: str | None = Field(default=None, max_length=MAX_NAME)
    severity: Literal["page", "ticket"] | None = None
    provider: str | None = Field(default=None, max_length=MAX_NAME)
    model: str | None = Field(default=None, max_length=MAX_NAME)
    client: str | None = Field(default=None, max_length=MAX_NAME)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime
    comment: str = Field(min_length=1, max_length=500)

    _patterns = field_validator("slo", "provider", "model", "client")(route_pattern)

    @field_validator("comment")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip() or _UNPRINTABLE.search(value):
            raise ValueError("must not be blank or hold control characters")
        return value

    @model_validator(mode="after")
    def _narrow(self) -> SilenceRequest:
        if all(getattr(self, name) is None for name in ("slo", "provider", "model", "client")):
            raise ValueError("a silence must name at least one of slo, provider, model, client: one that matches "
                             "every route would silence the whole pager")
        return self

    def silence(self, created_by: str, now: datetime, new_id: str | None = None) -> Silence:
        try:
            starts = (self.starts_at or now).astimezone(timezone.utc).replace(microsecond=0)
            ends = self.ends_at.astimezone(timezone.utc).replace(microsecond=0)
        except OverflowError:
            raise ValueError("starts_at and ends_at must be times between years 1 and 9999 in UTC") from None
        if starts > now + MAX_AHEAD:
            raise ValueError(f"starts_at is more than {MAX_AHEAD.days} days ahead: add the silence closer to the time")
        if ends <= now:
            raise ValueError("ends_at is in the past: the silence would hold nothing back")
        if ends <= starts:
            raise ValueError("ends_at must be after starts_at")
        if ends - starts > MAX_SILENCE:
            raise ValueError(f"a silence lasts at most {MAX_SILENCE.days} days")
        return Silence(new_id or uuid.uuid4().hex[:12], self.slo or "", self.severity or "", self.provider or "",
                       self.model or "", self.client or "", starts, ends, created_by, self.comment, "", 0)


@dataclass(frozen=True)
class Silence:
    id: str
    slo: str
    severity: str
    provider: str
    model: str
    client: str
    """Empty matchers match anything."""
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    expired_by: str
    revision: int

    def matches(self, key: IncidentKey) -> bool:
        severity, slo, provider, model, client = key
        pairs = ((self.severity, severity), (self.slo, slo), (self.provider, provider), (self.model, model),
                 (self.client, client))
        return all(not pattern or fnmatchcase(value, pattern) for pattern, value in pairs)

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def state(self, at: datetime) -> str:
        if self.expired_by:
            return "expired"
        return "active" if self.active(at) else ("pending" if at < self.starts_at else "ended")

    def expired(self, by: str, now: datetime) -> Silence:
        end = max(self.starts_at, min(self.ends_at, now.astimezone(timezone.utc).replace(microsecond=0)))
        return Silence(self.id, self.slo, self.severity, self.provider, self.model, self.client, self.starts_at, end,
                       self.created_by, self.comment, by, self.revision + 1)

    def words(self) -> str:
        return f"silence {self.id} by {self.created_by} ({self.comment})"

    def as_dict(self, at: datetime) -> dict[str, object]:
        return {"id": self.id, "state": self.state(at), "slo": self.slo or None, "severity": self.severity or None,
                "provider": self.provider or None, "model": self.model or None, "client": self.client or None,
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "created_by": self.created_by, "comment": self.comment, "expired_by": self.expired_by or None}


@dataclass(frozen=True)
class Held:
    notice: Notice
    silence: Silence


def hold_back(notices: list[Notice], silences: list[Silence], at: datetime) -> tuple[list[Notice], list[Held]]:
    """Split notices into those to send and those an active silence holds back; resolves and escalations always go.

    A sent opening that a silence held until recently says so (`held_by`)."""
    send: list[Notice] = []
    held: list[Held] = []
    for notice in notices:
        if notice.kind in ("resolved", "escalated"):
            send.append(notice)
            continue
        silence = holding(silences, notice.incident.key, at)
        if silence is not None:
            held.append(Held(notice, silence))
            continue
        ended = [s for s in silences if s.matches(notice.incident.key) and held_since(s, notice.incident, at)]
        if ended:
            last = max(ended, key=lambda s: s.ends_at)
            notice = Notice(notice.kind, notice.incident, notice.reading, notice.downgraded,
                            f"Held back by {last.words()} until {clock(last.ends_at)}; it still trips.")
        send.append(notice)
    return send, held


def holding(silences: list[Silence], key: IncidentKey, at: datetime) -> Silence | None:
    """The first silence that holds back an incident's notices at `at`."""
    return next((s for s in silences if s.active(at) and s.matches(key)), None)


def held_since(silence: Silence, incident: Incident, at: datetime) -> bool:
    """The silence covered part of this opening and has ended by `at`."""
    return silence.starts_at <= at and incident.opened_at < silence.ends_at <= at
