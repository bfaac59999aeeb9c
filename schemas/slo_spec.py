"""SLO spec types: what to alert on, validated as it loads (no I/O here)."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["page", "ticket"]
LatencyField = Literal["complete_request_ms", "ttfb_ms"]

_STATUS_RULE = re.compile(r"^\s*(?:>=\s*(\d{3})|(\d{3})\s*-\s*(\d{3})|(\d{3}))\s*$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BurnWindow(_Spec):
    """A multi-window tier: it trips when both windows burn at least `burn_rate`."""

    severity: Severity
    long_minutes: int = Field(gt=0, le=7 * 24 * 60)
    short_minutes: int = Field(gt=0)
    burn_rate: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _short_inside_long(self) -> "BurnWindow":
        if self.short_minutes >= self.long_minutes:
            raise ValueError(f"short window ({self.short_minutes}m) must be shorter than the long one ({self.long_minutes}m)")
        return self

    @property
    def name(self) -> str:
        return f"{self.long_minutes}m/{self.short_minutes}m"

    @property
    def threshold(self) -> Fraction:
        return Fraction(self.burn_rate)


class LatencyRule(_Spec):
    field: LatencyField = "complete_request_ms"
    threshold_ms: int = Field(gt=0)


class SloSpec(_Spec):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    objective: Decimal = Field(gt=0, lt=1)
    error_statuses: tuple[str, ...] | None = None
    latency: LatencyRule | None = None
    windows: tuple[BurnWindow, ...]
    min_requests: int = Field(ge=1)
    include_byok: bool = True

    @field_validator("error_statuses", mode="before")
    @classmethod
    def _statuses_as_text(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(str(v) for v in value)
        return value

    @field_validator("error_statuses")
    @classmethod
    def _statuses_parse(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for rule in value or ():
            if not _STATUS_RULE.match(rule):
                raise ValueError(f"status rule {rule!r} is not one of 'NNN', 'NNN-NNN' or '>=NNN'")
        return value

    @model_validator(mode="after")
    def _one_kind_and_reachable(self) -> "SloSpec":
        if (self.error_statuses is None) == (self.latency is None):
            raise ValueError(f"SLO {self.name}: give exactly one of error_statuses or latency")
        ceiling = 1 / (1 - Fraction(self.objective))
        for window in self.windows:
            if window.threshold > ceiling:
                raise ValueError(
                    f"SLO {self.name}, window {window.name}: burn rate {window.burn_rate} can never be reached — "
                    f"with objective {self.objective} the budget is {1 - self.objective} and the highest possible "
                    f"burn rate (every request bad) is {float(ceiling):g}"
                )
        return self

    @property
    def kind(self) -> Literal["error_rate", "latency"]:
        return "latency" if self.latency else "error_rate"

    @property
    def budget(self) -> Fraction:
        return 1 - Fraction(self.objective)

    def status_ranges(self) -> list[tuple[int, int]]:
        """Error statuses as inclusive ranges."""
        ranges = []
        for rule in self.error_statuses or ():
            match = _STATUS_RULE.match(rule)
            assert match
            at_least, low, high, single = match.groups()
            if at_least:
                ranges.append((int(at_least), 599))
            elif low:
                ranges.append((int(low), int(high)))
            else:
                ranges.append((int(single), int(single)))
        return ranges


class AlertPolicy(_Spec):
    """Everything the evaluator needs: the SLOs, cooldowns, and who may be paged."""

    slos: tuple[SloSpec, ...]
    page_clients: tuple[str, ...]
    page_models: tuple[str, ...] = ()
    page_cooldown_seconds: int = Field(gt=0)
    ticket_cooldown_seconds: int = Field(gt=0)

    @model_validator(mode="after")
    def _unique_names(self) -> "AlertPolicy":
        names = [s.name for s in self.slos]
        if len(set(names)) != len(names):
            raise ValueError(f"SLO names must be unique, got {names}")
        return self

    def cooldown(self, severity: Severity) -> int:
        return self.page_cooldown_seconds if severity == "page" else self.ticket_cooldown_seconds


SEED_WINDOWS: list[dict[str, Any]] = [
    {"severity": "page", "long_minutes": 5, "short_minutes": 1, "burn_rate": "14.4"},
    {"severity": "page", "long_minutes": 30, "short_minutes": 3, "burn_rate": "6"},
    {"severity": "ticket", "long_minutes": 360, "short_minutes": 30, "burn_rate": "1"},
]

DEFAULT_POLICY: dict[str, Any] = {
    "page_clients": ["kilo-gateway"],
    "page_models": [],
    "page_cooldown_seconds": 900,
    "ticket_cooldown_seconds": 14400,
    "defaults": {"objective": "0.999", "min_requests": 10, "windows": SEED_WINDOWS, "include_byok": True},
    "slos": [
        {"name": "error_rate", "title": "Error Rate", "error_statuses": [">=400"]},
        {"name": "latency_p50", "title": "Latency (p50)", "latency": {"field": "complete_request_ms", "threshold_ms": 5000}},
        {"name": "latency_p90", "title": "Latency (p90)", "latency": {"field": "complete_request_ms", "threshold_ms": 15000}},
    ],
}


def policy_from_document(document: dict[str, Any]) -> AlertPolicy:
    """A policy from a YAML document: each SLO inherits `defaults` for keys it does not set."""
    if not isinstance(document, dict):
        raise ValueError("the SLO document must be a mapping")
    document = dict(document)
    defaults = document.pop("defaults", {}) or {}
    slos = [{**defaults, **slo} for slo in document.pop("slos", [])]
    if not slos:
        raise ValueError("the SLO document declares no SLOs")
    return AlertPolicy.model_validate({**document, "slos": slos})


def default_policy() -> AlertPolicy:
    return policy_from_document(DEFAULT_POLICY)
