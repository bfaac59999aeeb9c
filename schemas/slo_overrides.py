"""Per-route exceptions to the SLOs: which routes an override matches, how specific it is, what it changes (pure).

A route is (provider, model, client). An override names any of them, and the SLO, exactly or by a glob
(`*`, `?`, `[…]`); for each SLO and route the single most specific matching override applies, on top of
the SLO as the policy declares it. Every override is validated against each SLO it can change, exactly
as the policy file is: a setting that could never trip is refused with the reason.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from schemas.api_metrics import MAX_NAME
from schemas.latency_measures import LatencyField, Streaming
from schemas.slo_spec import BurnWindow, Milliseconds, Percentile, Requests, Share, SloSpec, _Spec

MATCH_FIELDS = ("slo", "provider", "model", "client")
_GLOB = re.compile(r"[*?\[]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


_CLASS = re.compile(r"\[!?\]?[^\]]*\]")


def is_glob(pattern: str) -> bool:
    return _GLOB.search(pattern) is not None


def matches_any_name(pattern: str) -> bool:
    """True for a glob with no literal character (`**`, `*?`, `[a-z]*`): it matches every name, or nearly."""
    return not _CLASS.sub("", pattern).strip("*?")


def route_pattern(value: str | None) -> str | None:
    """A matcher of an override or a silence: a name or a glob with at least one literal character; `*` is any."""
    if value is None:
        return None
    if not value.strip() or _UNPRINTABLE.search(value):
        raise ValueError("must be a name or a glob pattern, not blank and without control characters")
    if value == "*":
        return None
    if matches_any_name(value):
        raise ValueError(f"{value!r} matches every name: give a name, or a pattern with at least one character that "
                         "is not *, ? or [...], or leave the field out")
    return value


class OverrideMatch(_Spec):
    """Which SLOs and routes an override is for; a missing field (or `*`) matches anything."""

    slo: str | None = Field(default=None, max_length=MAX_NAME)
    provider: str | None = Field(default=None, max_length=MAX_NAME)
    model: str | None = Field(default=None, max_length=MAX_NAME)
    client: str | None = Field(default=None, max_length=MAX_NAME)

    _patterns = field_validator(*MATCH_FIELDS)(route_pattern)

    def matches_slo(self, name: str) -> bool:
        return self.slo is None or fnmatchcase(name, self.slo)

    def matches(self, dimension: tuple[str, str, str]) -> bool:
        provider, model, client = dimension
        return all(pattern is None or fnmatchcase(value, pattern)
                   for pattern, value in ((self.provider, provider), (self.model, model), (self.client, client)))

    def specificity(self) -> tuple[int, ...]:
        """Larger is more specific: more names given exactly, then more patterns, then client over model over provider
        over SLO (an exact name over a pattern in each), then the longer pattern."""
        values = (self.client, self.model, self.provider, self.slo)
        ranks = [0 if v is None else (1 if is_glob(v) else 2) for v in values]
        literal = sum(len(_GLOB.sub("", v)) for v in values if v is not None)
        return (ranks.count(2), ranks.count(1), *ranks, literal)

    def one_route(self) -> bool:
        """True when it names one route exactly (provider, model and client, no pattern)."""
        return all(v is not None and not is_glob(v) for v in (self.provider, self.model, self.client))

    def key(self) -> str:
        """The override's identity: one override per match (`model=free/*,slo=error_rate`)."""
        return ",".join(f"{name}={getattr(self, name)}" for name in MATCH_FIELDS if getattr(self, name) is not None) or "*"


class LatencyOverride(_Spec):
    field: LatencyField | None = None
    threshold_ms: Milliseconds | None = None
    percentile: Percentile | None = None
    statuses: Literal["success", "all"] | None = None
    streaming: Streaming | None = None
    min_output_tokens: int | None = Field(default=None, ge=2, le=1_000_000)


SETTINGS = ("objective", "min_requests", "min_bad_events", "confidence", "include_byok", "latency", "windows")
"""Override fields that change the SLO itself; `enabled` and `page` change whether and whom it notifies."""


class SloOverride(_Spec):
    """One exception: set only what differs from the SLO; the rest is inherited."""

    match: OverrideMatch
    enabled: bool | None = None
    objective: Share | None = Field(default=None, gt=0, lt=1)
    min_requests: Requests | None = None
    min_bad_events: Requests | None = None
    confidence: Share | None = Field(default=None, ge=0, lt=1)
    include_byok: bool | None = None
    latency: LatencyOverride | None = None
    windows: tuple[BurnWindow, ...] | None = Field(default=None, min_length=1, max_length=10)
    page: bool | None = None
    """True: may page even where the policy's page_clients/page_models would send a ticket; False: tickets only."""
    receivers: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=50)
    """Where this route's notifications go instead of the policy's routes (a team that owns its models)."""
    comment: str | None = Field(default=None, max_length=500)
    scope: str | None = Field(default=None, max_length=1000)
    """The match's key, repeated: says that turning paging off or down for every route the match covers is meant."""

    @model_validator(mode="after")
    def _changes_something(self) -> SloOverride:
        if all(getattr(self, name) is None for name in (*SETTINGS, "enabled", "page", "receivers")):
            raise ValueError("an override must set at least one of enabled, page, receivers, " + ", ".join(SETTINGS))
        return self

    @model_validator(mode="after")
    def _broad_quiet_is_meant(self) -> SloOverride:
        key = self.match.key()
        if self.scope is not None and self.scope != key:
            raise ValueError(f"scope must repeat the match's key exactly: {key!r}")
        if self.reduces_paging and not self.match.one_route() and self.scope is None:
            what = "enabled: false turns the SLO off" if self.enabled is False else "page: false turns pages into tickets"
            raise ValueError(f"{what} on every route that {key} matches, not one route: if that is meant, say so with "
                             f'"scope": "{key}" (the page channel is told while it is in force)')
        return self

    @property
    def reduces_paging(self) -> bool:
        """It turns the SLO off, or its pages into tickets."""
        return self.enabled is False or self.page is False

    @property
    def changes_spec(self) -> bool:
        return any(getattr(self, name) is not None for name in SETTINGS)

    def apply(self, slo: SloSpec) -> SloSpec:
        """The SLO with this override's settings; ValueError (with the reason) when the result is not a valid SLO."""
        if not self.changes_spec:
            return slo
        document: dict[str, Any] = slo.model_dump()
        for name in SETTINGS:
            value = getattr(self, name)
            if value is None:
                continue
            if name == "latency":
                if slo.latency is None:
                    continue
                document["latency"] = {**document["latency"], **value.model_dump(exclude_none=True)}
            elif name == "windows":
                document["windows"] = [w.model_dump() for w in value]
            else:
                document[name] = value
        try:
            return SloSpec.model_validate(document)
        except ValidationError as err:
            reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
            raise ValueError(f"override {self.match.key()} on SLO {slo.name}: {reasons}") from None

    def check_against(self, slos: tuple[SloSpec, ...]) -> list[SloSpec]:
        """Validate against every SLO it can change; the changed SLOs, or ValueError saying why not."""
        targets = [slo for slo in slos if self.match.matches_slo(slo.name)]
        if not targets:
            raise ValueError(f"override {self.match.key()} matches no SLO (SLOs: {', '.join(s.name for s in slos)})")
        if self.latency is not None and all(slo.latency is None for slo in targets):
            raise ValueError(f"override {self.match.key()} sets latency, but matches no latency SLO: name one in match.slo")
        return [self.apply(slo) for slo in targets]
