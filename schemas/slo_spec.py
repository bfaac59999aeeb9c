"""SLO spec types: what to alert on, validated as it loads (no I/O here)."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.latency_measures import TPOT_FIELD, LatencyField, Measure, Streaming, measure
from schemas.noise import significant

Severity = Literal["page", "ticket"]
SloKind = Literal["error_rate", "latency_percentile", "latency_ratio", "session_failure_rate", "tool_error_rate"]
Source = Literal["requests", "sessions", "tools"]
"""What an SLO counts: gateway requests per (provider, model, client); agent sessions per (platform, model, client);
tool calls per (tool type, platform, client)."""
SOURCES: dict[SloKind, Source] = {"session_failure_rate": "sessions", "tool_error_rate": "tools"}
ROUTE_WORDS: dict[Source, tuple[str, str, str]] = {
    "requests": ("provider", "model", "client"),
    "sessions": ("platform", "model", "client"),
    "tools": ("tool", "platform", "client"),
}
"""What the three parts of a route are called, per source (messages, pages, `o11y slo check`)."""
TerminationReason = Literal["completed", "error", "interrupted", "abandoned", "unknown"]
TEMPLATE_FIELDS = frozenset({"slo", "severity", "provider", "model", "client", "incident_id", "tick"})

_STATUS_RULE = re.compile(r"^\s*(?:>=\s*(\d{3})|(\d{3})\s*-\s*(\d{3})|(\d{3}))\s*$")

MAX_DECIMAL_PLACES = 9
"""Objectives up to 99.9999999 %: exact arithmetic on a number's digits is cheap only while they are few, and a
decimal with an exponent of a billion would take the evaluator (and every API call) with it."""
Share = Annotated[Decimal, Field(max_digits=MAX_DECIMAL_PLACES + 1, decimal_places=MAX_DECIMAL_PLACES)]
"""An objective or a confidence: at most 9 decimal places."""
Rate = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=15, decimal_places=6)]
"""A burn rate: at most 1,000,000, at most 6 decimal places."""
Percentile = Annotated[Decimal, Field(gt=0, lt=100, max_digits=9, decimal_places=6)]
"""A percentile in (0, 100), at most 6 decimal places."""
Requests = Annotated[int, Field(ge=1, le=10_000_000)]
Milliseconds = Annotated[int, Field(gt=0, le=3_600_000)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BurnWindow(_Spec):
    """A multi-window tier: it trips when both windows burn at least `burn_rate`."""

    severity: Severity
    long_minutes: int = Field(gt=0, le=7 * 24 * 60)
    short_minutes: int = Field(gt=0, le=7 * 24 * 60)
    burn_rate: Rate

    @model_validator(mode="after")
    def _short_inside_long(self) -> BurnWindow:
        if self.short_minutes >= self.long_minutes:
            raise ValueError(f"short window ({self.short_minutes}m) must be shorter than the long one ({self.long_minutes}m)")
        return self

    @property
    def name(self) -> str:
        return f"{self.long_minutes}m/{self.short_minutes}m"

    @cached_property
    def threshold(self) -> Fraction:
        return Fraction(self.burn_rate)


class LatencyRule(_Spec):
    """Which latency, over which requests; `percentile` for per-minute percentile SLOs.

    `field`: `complete_request_ms`, `ttfb_ms` (with `streaming: true` the time to first token), or
    `time_per_output_token_ms` (streamed, successful requests with at least `min_output_tokens` output tokens)."""

    field: LatencyField = "complete_request_ms"
    threshold_ms: Milliseconds
    percentile: Percentile | None = None
    statuses: Literal["success", "all"] = "success"
    streaming: Streaming = "any"
    """`ttfb_ms` only: true counts streamed requests (time to first token), false the others, any both."""
    min_output_tokens: int | None = Field(default=None, ge=2, le=1_000_000)
    """`time_per_output_token_ms` only (default 16): requests with fewer output tokens do not count."""

    @cached_property
    def measure(self) -> Measure:
        return measure(self.field, self.streaming, self.min_output_tokens)

    @property
    def on_rollup(self) -> bool:
        """The per-minute rollup counts this threshold exactly (else the tick reads the raw table)."""
        return self.measure.on_rollup(self.threshold_ms)

    @model_validator(mode="after")
    def _fits_the_field(self) -> LatencyRule:
        if self.field == TPOT_FIELD:
            if self.streaming is False:
                raise ValueError("time_per_output_token_ms is measured on streamed requests only: leave streaming out")
            if self.statuses != "success":
                raise ValueError("time_per_output_token_ms is measured on successful requests only: leave statuses "
                                 "at success")
        else:
            if self.min_output_tokens is not None:
                raise ValueError(f"min_output_tokens applies to time_per_output_token_ms only, not to {self.field}")
            if self.field == "complete_request_ms" and self.streaming != "any":
                raise ValueError("streaming applies to ttfb_ms (time to first token) only: for complete time leave "
                                 "it out")
        _ = self.measure
        return self

    @cached_property
    def quantile(self) -> Fraction:
        assert self.percentile is not None
        return Fraction(self.percentile) / 100

    @model_validator(mode="after")
    def _derived_now(self) -> LatencyRule:
        if self.percentile is not None:
            _ = self.quantile
        return self


class SloSpec(_Spec):
    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    title: str = Field(min_length=1, max_length=200)
    kind: SloKind | None = None
    objective: Share = Field(gt=0, lt=1)
    error_statuses: tuple[str, ...] | None = Field(default=None, max_length=50)
    latency: LatencyRule | None = None
    windows: tuple[BurnWindow, ...] = Field(min_length=1, max_length=10)
    min_requests: Requests
    min_bad_events: Requests = 5
    confidence: Share = Field(default=Decimal("0.999"), ge=0, lt=1)
    include_byok: bool = True
    failure_reasons: tuple[TerminationReason, ...] | None = Field(default=None, min_length=1, max_length=5)
    """`session_failure_rate` only: the termination reasons that make a session bad (default `error`)."""
    stuck_tool_calls_fail: bool | None = None
    """`session_failure_rate` only: a session with a stuck tool call is bad too (default true)."""
    runbook_url: str | None = Field(default=None, max_length=2000)
    dashboard_url: str | None = Field(default=None, max_length=2000)

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

    @field_validator("runbook_url", "dashboard_url")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        for _, name, _, _ in string.Formatter().parse(value or ""):
            if name is not None and name not in TEMPLATE_FIELDS:
                raise ValueError(f"unknown placeholder {{{name}}}: use {', '.join(sorted(TEMPLATE_FIELDS))}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("kind"):
            return data
        if data.get("error_statuses") is not None and data.get("latency") is None:
            return {**data, "kind": "error_rate"}
        latency = data.get("latency")
        if isinstance(latency, dict) and latency.get("percentile") is not None:
            return {**data, "kind": "latency_percentile"}
        return data

    @model_validator(mode="after")
    def _consistent_and_reachable(self) -> SloSpec:
        """Also computes every derived number (budget, thresholds, quantile) now, once, from bounded digits."""
        self._check_kind()
        ceiling = 1 / self.budget
        for window in self.windows:
            if window.threshold > ceiling:
                raise ValueError(
                    f"SLO {self.name}, window {window.name}: burn rate {window.burn_rate} can never be reached — "
                    f"with objective {self.objective} the budget is {1 - self.objective} and the highest possible "
                    f"burn rate (every {self.unit} bad) is {float(ceiling):g}"
                )
            if self.per_minute:
                self._check_minute_window(window)
        return self

    def _check_kind(self) -> None:
        where = f"SLO {self.name}"
        session_only = [f for f in ("failure_reasons", "stuck_tool_calls_fail") if getattr(self, f) is not None]
        if self.kind in SOURCES:
            if self.error_statuses is not None or self.latency is not None:
                raise ValueError(f"{where}: kind {self.kind} counts {self.unit}s: give neither error_statuses nor latency")
            if self.kind == "tool_error_rate" and session_only:
                raise ValueError(f"{where}: {', '.join(session_only)} belong to kind session_failure_rate only")
            return
        if session_only:
            raise ValueError(f"{where}: {', '.join(session_only)} belong to kind session_failure_rate only")
        if self.kind is None and self.error_statuses is not None:
            raise ValueError(f"{where}: give error_statuses (kind error_rate) or latency, not both")
        if self.kind is None:
            raise ValueError(
                f"{where}: say `kind: latency_percentile` with `latency.percentile` (a minute is bad when its pN "
                "exceeds the threshold) or `kind: latency_ratio` (the share of requests slower than the threshold)"
            )
        if self.kind == "error_rate" and (self.error_statuses is None or self.latency is not None):
            raise ValueError(f"{where}: kind error_rate needs error_statuses and no latency")
        if self.kind != "error_rate" and (self.latency is None or self.error_statuses is not None):
            raise ValueError(f"{where}: kind {self.kind} needs latency and no error_statuses")
        if self.latency is not None and (self.latency.percentile is None) != (self.kind == "latency_ratio"):
            raise ValueError(f"{where}: latency.percentile belongs to kind latency_percentile only")

    def _check_minute_window(self, window: BurnWindow) -> None:
        """Counted in minutes, a window holds at most its length in bad minutes: say when that can never trip."""
        most = window.long_minutes
        if self.min_bad_events > most:
            raise ValueError(
                f"SLO {self.name}, window {window.name}: min_bad_events {self.min_bad_events} can never be reached — "
                f"the long window holds at most {most} bad minutes"
            )
        if self.confidence and not significant(most, most, float(self.budget), float(1 - self.confidence)):
            raise ValueError(
                f"SLO {self.name}, window {window.name}: even {most} bad minutes of {most} are not unlikely enough "
                f"at objective {self.objective} for confidence {self.confidence}: lengthen the window or lower the confidence"
            )

    @property
    def per_minute(self) -> bool:
        """Percentile SLOs count minutes (good or bad), the others count requests."""
        return self.kind == "latency_percentile"

    @property
    def unit(self) -> str:
        if self.kind == "session_failure_rate":
            return "session"
        if self.kind == "tool_error_rate":
            return "tool call"
        return "minute" if self.per_minute else "request"

    @property
    def source(self) -> Source:
        """What the SLO counts (and so which table its tick query reads and what its routes are)."""
        return SOURCES.get(self.kind, "requests") if self.kind is not None else "requests"

    @property
    def route_words(self) -> tuple[str, str, str]:
        """What the three parts of one of its routes are called: provider, model, client for requests."""
        return ROUTE_WORDS[self.source]

    @property
    def bad_reasons(self) -> tuple[str, ...]:
        """`session_failure_rate`: the termination reasons of a bad session."""
        return self.failure_reasons or ("error",)

    @property
    def stuck_is_bad(self) -> bool:
        return self.stuck_tool_calls_fail is not False

    @cached_property
    def budget(self) -> Fraction:
        return 1 - Fraction(self.objective)

    @property
    def noise_alpha(self) -> float:
        """Largest chance that a route exactly at its objective shows the bad count by luck (0: gate off)."""
        return float(1 - self.confidence) if self.confidence else 1.0

    def gate_for_window(self) -> int:
        """Requests a window needs to be judged; for per-minute SLOs `min_requests` applies to each minute instead."""
        return 1 if self.per_minute else self.min_requests

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

    def link(self, template: str | None, **values: str) -> str | None:
        """The template with each value URL-encoded: a model named `x|Click>` cannot end or forge a Slack link."""
        return template.format(**{k: quote(values.get(k, ""), safe="") for k in TEMPLATE_FIELDS}) if template else None
