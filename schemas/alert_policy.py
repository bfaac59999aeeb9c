"""The alert policy: SLOs plus who may be paged, cooldowns, hysteresis and grouping; the built-in default."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from schemas.slo_spec import Severity, SloSpec, _Spec


class AlertPolicy(_Spec):
    """Everything the evaluator needs: the SLOs, cooldowns, and who may be paged."""

    slos: tuple[SloSpec, ...]
    page_clients: tuple[str, ...]
    page_models: tuple[str, ...] = ()
    page_cooldown_seconds: int = Field(gt=0)
    ticket_cooldown_seconds: int = Field(gt=0)
    resolve_after_ticks: int = Field(default=1, ge=1, le=60)
    group_notifications_above: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _unique_names(self) -> AlertPolicy:
        names = [s.name for s in self.slos]
        if len(set(names)) != len(names):
            raise ValueError(f"SLO names must be unique, got {names}")
        if "data_stale" in names:
            raise ValueError("the SLO name data_stale is reserved for the stale-data page")
        return self

    def cooldown(self, severity: Severity) -> int:
        return self.page_cooldown_seconds if severity == "page" else self.ticket_cooldown_seconds

    def slo(self, name: str) -> SloSpec | None:
        return next((s for s in self.slos if s.name == name), None)


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
    "resolve_after_ticks": 1,
    "group_notifications_above": 3,
    "defaults": {"objective": "0.999", "min_requests": 10, "min_bad_events": 5, "confidence": "0.999",
                 "windows": SEED_WINDOWS, "include_byok": True},
    "slos": [
        {"name": "error_rate", "title": "Error Rate", "kind": "error_rate", "error_statuses": [">=400"]},
        {"name": "latency_p50", "title": "Latency (p50)", "kind": "latency_percentile", "objective": "0.99",
         "latency": {"percentile": 50, "field": "complete_request_ms", "threshold_ms": 5000, "statuses": "success"}},
        {"name": "latency_p90", "title": "Latency (p90)", "kind": "latency_percentile", "objective": "0.99",
         "latency": {"percentile": 90, "field": "complete_request_ms", "threshold_ms": 30000, "statuses": "success"}},
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
