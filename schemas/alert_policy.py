"""The alert policy: SLOs plus who may be paged, cooldowns, hysteresis and grouping; the built-in default."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, PrivateAttr, model_validator

from schemas.receivers import (
    MAX_RECEIVERS,
    MAX_ROUTES,
    Receiver,
    Route,
    check_routing,
    default_receivers,
    default_routes,
    route_for,
)
from schemas.slo_overrides import SloOverride
from schemas.slo_spec import Severity, SloSpec, _Spec

MAX_OVERRIDES = 500
"""Overrides in the policy file, and runtime overrides, each: every one adds to every tick's work."""
LIVE_BUDGET_S = 5.0
"""The most time a tick spends checking the runtime overrides it read."""
STALE_DATA = "data_stale"
PAGING_REDUCED = "paging_reduced"
RESERVED_SLO_NAMES = {STALE_DATA: "stale-data page", PAGING_REDUCED: "notice that overrides quiet many routes"}
"""Incidents of o11y's own, kept beside the SLOs' (and silenced the same way), never judged as an SLO."""
Dimension = tuple[str, str, str]
"""(provider, model, client), the seed's order."""


@dataclass(frozen=True)
class Resolved:
    """One SLO as it applies to one route: the effective spec, whether it is evaluated, who may be paged."""

    spec: SloSpec
    enabled: bool
    page: bool | None
    """None: the policy's page_clients and page_models decide."""
    override: SloOverride | None
    column: str
    """Which of the tick query's column groups counts it (one per distinct effective spec)."""


class AlertPolicy(_Spec):
    """Everything the evaluator needs: the SLOs, cooldowns, and who may be paged."""

    slos: tuple[SloSpec, ...] = Field(max_length=100)
    page_clients: tuple[str, ...] = Field(max_length=10_000)
    page_models: tuple[str, ...] = Field(default=(), max_length=10_000)
    page_cooldown_seconds: int = Field(gt=0, le=30 * 86_400)
    ticket_cooldown_seconds: int = Field(gt=0, le=30 * 86_400)
    resolve_after_ticks: int = Field(default=1, ge=1, le=60)
    group_notifications_above: int = Field(default=3, ge=1, le=10_000)
    period_days: int = Field(default=30, ge=1, le=90)
    """The SLO period: what the error budget left is counted over (`/v1/slo/status`)."""
    overrides: tuple[SloOverride, ...] = Field(default=(), max_length=MAX_OVERRIDES)
    """From the policy file."""
    live_overrides: tuple[SloOverride, ...] = ()
    """Set at runtime through the admin API; on an equal match, a live override wins over the file's."""
    receivers: tuple[Receiver, ...] = Field(default=(), max_length=MAX_RECEIVERS)
    """None declared: the two Slack webhooks (`schemas.receivers.default_receivers`)."""
    routes: tuple[Route, ...] = Field(default=(), max_length=MAX_ROUTES)
    _resolved: dict[tuple[str, Dimension], Resolved | None] = PrivateAttr(default_factory=dict)
    _columns: list[tuple[str, SloSpec]] | None = PrivateAttr(default=None)
    _applied: dict[tuple[int, str], SloSpec] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique_names(self) -> AlertPolicy:
        names = [s.name for s in self.slos]
        if len(set(names)) != len(names):
            raise ValueError(f"SLO names must be unique, got {names}")
        for reserved in sorted(set(RESERVED_SLO_NAMES) & set(names)):
            raise ValueError(f"the SLO name {reserved} is reserved for o11y's own {RESERVED_SLO_NAMES[reserved]}")
        for overrides in (self.overrides, self.live_overrides):
            keys = [o.match.key() for o in overrides]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                raise ValueError(f"more than one override matches exactly {', '.join(twice)}: merge them")
            for override in overrides:
                override.check_against(self.slos)
        named = {f"override {o.match.key()}": o.receivers for o in (*self.overrides, *self.live_overrides) if o.receivers}
        check_routing(self.receivers, self.routes, named)
        return self

    def with_live(self, overrides: list[SloOverride], budget_s: float = LIVE_BUDGET_S,
                  clock: Callable[[], float] = time.monotonic) -> tuple[AlertPolicy, list[str]]:
        """This policy with the admin API's overrides; one that no longer fits the policy is left out, with the reason.

        Stored data can never hold up a tick: beyond `MAX_OVERRIDES`, or once checking them took `budget_s`, the rest
        are left out too, and said so."""
        kept: list[SloOverride] = []
        problems: list[str] = []
        deadline = clock() + budget_s
        for index, override in enumerate(overrides):
            if index >= MAX_OVERRIDES or clock() > deadline:
                why = f"more than {MAX_OVERRIDES}" if index >= MAX_OVERRIDES else f"not checked within {budget_s:g} s"
                problems.append(f"{len(overrides) - index} runtime override(s) left out ({why}), from {override.match.key()} on")
                break
            try:
                self.check_override(override)
            except ValueError as err:
                problems.append(str(err))
            else:
                kept.append(override)
        policy = self.model_copy(update={"live_overrides": tuple(kept)})
        policy._resolved, policy._columns, policy._applied = {}, None, {}
        return policy, problems

    def check_override(self, override: SloOverride) -> None:
        """ValueError, with the reason, when the override fits none of the SLOs or names a receiver not declared."""
        override.check_against(self.slos)
        if override.receivers:
            check_routing(self.receivers, self.routes, {f"override {override.match.key()}": override.receivers})

    def _apply(self, override: SloOverride, slo: SloSpec) -> SloSpec:
        """`override.apply(slo)`, validated once per policy (not once per route)."""
        key = (id(override), slo.name)
        if key not in self._applied:
            self._applied[key] = override.apply(slo)
        return self._applied[key]

    def resolve(self, name: str, dimension: Dimension) -> Resolved | None:
        """The SLO `name` for one route: the most specific matching override applied (None for an unknown SLO)."""
        key = (name, dimension)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(name, dimension)
        return self._resolved[key]

    def _resolve(self, name: str, dimension: Dimension) -> Resolved | None:
        slo = self.slo(name)
        if slo is None:
            return None
        candidates = [
            (o.match.specificity(), source, index, o)
            for source, overrides in enumerate((self.overrides, self.live_overrides))
            for index, o in enumerate(overrides)
            if o.match.matches_slo(name) and o.match.matches(dimension)
        ]
        if not candidates:
            return Resolved(slo, True, None, None, name)
        override = max(candidates, key=lambda c: c[:3])[3]
        spec = self._apply(override, slo)
        if override.enabled is False:
            return Resolved(spec, False, override.page, override, name)
        column = next(c for c, known in self.columns() if known == spec)
        return Resolved(spec, True, override.page, override, column)

    def slo_for(self, name: str, dimension: Dimension) -> SloSpec | None:
        """The effective SLO of a route, or None when it is not evaluated there (unknown, or turned off)."""
        resolved = self.resolve(name, dimension)
        return resolved.spec if resolved is not None and resolved.enabled else None

    def columns(self) -> list[tuple[str, SloSpec]]:
        """Every distinct effective SLO with the name of its column group: the SLOs as declared (by name), then each
        override's changed SLO (`V1`, `V2`, … — SLO names are lower case, so these never collide)."""
        if self._columns is None:
            columns = [(slo.name, slo) for slo in self.slos]
            for override in (*self.overrides, *self.live_overrides):
                if override.enabled is False or not override.changes_spec:
                    continue
                for slo in self.slos:
                    if not override.match.matches_slo(slo.name):
                        continue
                    spec = self._apply(override, slo)
                    if all(spec != known for _, known in columns):
                        columns.append((f"V{len(columns) - len(self.slos) + 1}", spec))
            self._columns = columns
        return self._columns

    def effective_receivers(self) -> tuple[Receiver, ...]:
        return self.receivers or default_receivers()

    def receivers_for(self, key: tuple[str, str, str, str, str]) -> tuple[str, ...]:
        """Where an incident's notifications go: the most specific override that names receivers, else the most
        specific route (the default route last)."""
        slo, dimension = key[1], (key[2], key[3], key[4])
        naming = [(o.match.specificity(), source, index, o)
                  for source, overrides in enumerate((self.overrides, self.live_overrides))
                  for index, o in enumerate(overrides)
                  if o.receivers and o.match.matches_slo(slo) and o.match.matches(dimension)]
        if naming:
            return max(naming, key=lambda c: c[:3])[3].receivers or ()
        chosen = route_for(self.routes or default_routes(), key)
        return chosen.receivers if chosen is not None else ()

    def cooldown(self, severity: Severity) -> int:
        return self.page_cooldown_seconds if severity == "page" else self.ticket_cooldown_seconds

    def slo(self, name: str) -> SloSpec | None:
        return next((s for s in self.slos if s.name == name), None)


SEED_WINDOWS: list[dict[str, Any]] = [
    {"severity": "page", "long_minutes": 5, "short_minutes": 1, "burn_rate": "14.4"},
    {"severity": "page", "long_minutes": 30, "short_minutes": 3, "burn_rate": "6"},
    {"severity": "ticket", "long_minutes": 360, "short_minutes": 30, "burn_rate": "1"},
]

SESSION_WINDOWS: list[dict[str, Any]] = [
    {"severity": "page", "long_minutes": 15, "short_minutes": 3, "burn_rate": "14.4"},
    {"severity": "page", "long_minutes": 360, "short_minutes": 30, "burn_rate": "6"},
    {"severity": "ticket", "long_minutes": 1440, "short_minutes": 120, "burn_rate": "1"},
]
"""Sessions arrive a few a minute per route, each after minutes of work: a 3-minute short window holds enough of them to
judge (10), where the request tiers' one minute would not; 15 minutes at 14.4× (28.8 % of sessions failing) pages a
real breakage within minutes, and a day-long ticket tier catches a slow leak of failed sessions."""
TOOL_WINDOWS: list[dict[str, Any]] = [
    {"severity": "ticket", "long_minutes": 30, "short_minutes": 3, "burn_rate": "3"},
    {"severity": "ticket", "long_minutes": 360, "short_minutes": 30, "burn_rate": "1.5"},
]
"""Tickets only: a tool type that fails is a tool's bug or its users' environment, for its owners by day; when it makes
sessions fail, `session_failures` pages."""

DEFAULT_POLICY: dict[str, Any] = {
    "page_clients": ["kilo-gateway"],
    "page_models": [],
    "page_cooldown_seconds": 900,
    "ticket_cooldown_seconds": 14400,
    "resolve_after_ticks": 1,
    "group_notifications_above": 3,
    "defaults": {"objective": "0.999", "min_requests": 10, "min_bad_events": 5, "confidence": "0.999",
                 "windows": SEED_WINDOWS, "include_byok": True},
    "slos": [
        {"name": "error_rate", "title": "Error Rate", "kind": "error_rate", "error_statuses": [">=400"]},
        {"name": "time_to_first_token", "title": "Time to first token (median)", "kind": "latency_percentile",
         "objective": "0.99", "latency": {"percentile": 50, "field": "ttfb_ms", "streaming": True, "threshold_ms": 60000,
                                          "statuses": "success"}},
        {"name": "generation_speed", "title": "Generation speed (median)", "kind": "latency_percentile",
         "objective": "0.99", "latency": {"percentile": 50, "field": "time_per_output_token_ms", "threshold_ms": 50,
                                          "min_output_tokens": 16, "statuses": "success"}},
        {"name": "session_failures", "title": "Agent session failures", "kind": "session_failure_rate",
         "objective": "0.98", "failure_reasons": ["error"], "stuck_tool_calls_fail": True, "windows": SESSION_WINDOWS,
         "min_requests": 10},
        {"name": "tool_errors", "title": "Tool call errors", "kind": "tool_error_rate", "objective": "0.9",
         "windows": TOOL_WINDOWS, "min_requests": 20, "min_bad_events": 10},
    ],
}


SESSION_SLOS: list[dict[str, Any]] = [slo for slo in DEFAULT_POLICY["slos"]
                                      if slo["kind"] in ("session_failure_rate", "tool_error_rate")]
SEED_LATENCY_SLOS: list[dict[str, Any]] = [
    {"name": "latency_p50", "title": "Latency (p50)", "kind": "latency_percentile", "objective": "0.99",
     "latency": {"percentile": 50, "field": "complete_request_ms", "threshold_ms": 5000, "statuses": "success"}},
    {"name": "latency_p90", "title": "Latency (p90)", "kind": "latency_percentile", "objective": "0.99",
     "latency": {"percentile": 90, "field": "complete_request_ms", "threshold_ms": 30000, "statuses": "success"}},
]
"""The seed's complete-time SLOs, the default until time to first token and generation speed replaced them (complete
time grows with the answer's length: see the docs' default policy). Kept to compare the two defaults on the same
traffic (`bench/`), and as the example of complete-time SLOs."""


def seed_policy() -> AlertPolicy:
    """The seed's policy: the default's error rate with the seed's complete-time SLOs instead of the LLM-native ones,
    and nothing over sessions."""
    error_rate = [slo for slo in DEFAULT_POLICY["slos"] if slo["kind"] == "error_rate"]
    return policy_from_document({**DEFAULT_POLICY, "slos": [*error_rate, *SEED_LATENCY_SLOS]})


def policy_from_document(document: dict[str, Any]) -> AlertPolicy:
    """A policy from a YAML document: each SLO inherits `defaults` for keys it does not set."""
    if not isinstance(document, dict):
        raise ValueError("the SLO document must be a mapping")
    document = dict(document)
    defaults = document.pop("defaults", {}) or {}
    declared = document.pop("slos", [])
    if not isinstance(defaults, dict):
        raise ValueError("defaults must be a mapping")
    if not isinstance(declared, list) or not all(isinstance(slo, dict) for slo in declared):
        raise ValueError("slos must be a list of mappings")
    slos = [{**defaults, **slo} for slo in declared]
    if not slos:
        raise ValueError("the SLO document declares no SLOs")
    return AlertPolicy.model_validate({**document, "slos": slos})


def default_policy() -> AlertPolicy:
    return policy_from_document(DEFAULT_POLICY)
