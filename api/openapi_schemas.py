"""JSON Schemas of the read API's answers (`components.schemas` of `/openapi.json`); tests validate real answers."""

from __future__ import annotations

from typing import Any

from api.usage_query import DIMENSIONS, EVENT_FIELDS
from schemas.latency_measures import DEFAULT_MIN_OUTPUT_TOKENS

INT: dict[str, Any] = {"type": "integer", "minimum": 0}
NUMBER: dict[str, Any] = {"type": "number"}
TEXT: dict[str, Any] = {"type": "string"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: tuple[str, ...] | None = None, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "required": list(properties if required is None else required), "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


PERCENTILES = obj({name: nullable(NUMBER) for name in ("p50", "p95", "p99")},
                  description="Milliseconds, successful requests only, within 1 % (null: no successful request).")
SPEEDS = obj({name: nullable({"type": "number", "minimum": 0}) for name in ("p50", "p95", "p99")}, description=(
    "Output tokens per second of streamed successful requests with at least "
    f"{DEFAULT_MIN_OUTPUT_TOKENS} output tokens, from their time per output token (TPOT, "
    "`(complete_request_ms − ttfb_ms) / (output_tokens − 1)`): each is 1000 / TPOT's percentile, so p95 is the speed "
    "95 % of those answers reach or beat and p99 the speed 99 % do (p50 the median). Within about 1 %. Null: no request "
    "counted (or, for one percentile, a TPOT of 0 ms: every token came with the first byte)."))
MEASURES: dict[str, Any] = {
    "requests": INT,
    "errors": obj({"4xx": INT, "5xx": INT, "total": INT}),
    "error_rate": nullable({"type": "number", "minimum": 0, "maximum": 1}),
    "ttfb_ms": ref("Percentiles"),
    "complete_ms": ref("Percentiles"),
    "ttft_ms": {**ref("Percentiles"), "description": "Time to first token: `ttfb_ms` of streamed successful requests "
                "(null: none)."},
    "output_tokens_per_second": ref("TokensPerSecond"),
    "tokens": obj({name: INT for name in ("input", "output", "cache_write", "cache_hit", "total")}),
    "requests_with_tokens": INT,
    "cost": obj({"usd": nullable({"type": "number", "minimum": 0}), "priced_requests": INT, "unpriced_requests": INT,
                 "unpriced_models": {"type": "array", "items": TEXT}},
                description="Dollars from the price table; usd is null when no request of the group has a price."),
}
_DIMENSION_TYPES: dict[str, Any] = {d: TEXT for d in DIMENSIONS}
_DIMENSION_TYPES.update(byok={"type": "boolean"}, inference_provider=nullable(TEXT), organization=nullable(TEXT))
_WINDOW = {"from": TIME, "to": TIME, "source": {"enum": ["rollup", "raw", "rollup+raw"]},
           "group_by": {"type": "array", "items": {"enum": list(DIMENSIONS)}}, "percentiles": TEXT,
           "truncated": {"type": "boolean"}}
_EVENT_TYPES: dict[str, Any] = {
    "event_id": {"type": "string", "format": "uuid"}, "received_at": TIME, "client": TEXT, "user": TEXT,
    "organization": nullable(TEXT), "is_anonymous": {"type": "boolean"}, "is_streaming": {"type": "boolean"},
    "byok": {"type": "boolean"}, "mode": nullable(TEXT), "provider": TEXT, "requested_model": TEXT, "model": TEXT,
    "inference_provider": nullable(TEXT), "tools_available": {"type": "array", "items": TEXT},
    "tools_used": {"type": "array", "items": TEXT}, "status_code": INT, "ttfb_ms": INT, "complete_request_ms": INT,
    **{name: nullable(INT) for name in ("input_tokens", "output_tokens", "cache_write_tokens", "cache_hit_tokens",
                                        "total_tokens")},
    "cost_usd": nullable({"type": "number", "minimum": 0}),
}
assert tuple(_EVENT_TYPES) == EVENT_FIELDS
_TIER = obj({"tier": TEXT, "severity": {"enum": ["page", "ticket"]}, "threshold": NUMBER, "burn_long": NUMBER,
             "burn_short": NUMBER, "trips": {"type": "boolean"}})
_STATUS = obj({
    "slo": TEXT, "provider": TEXT, "model": TEXT, "client": TEXT,
    "state": {"enum": ["ok", "burning", "incident", "stale", "silenced"]}, "objective": TEXT,
    "period_bad": INT, "period_total": INT, "budget_left": nullable(NUMBER), "exhausted_in_hours": nullable(NUMBER),
    "tiers": {"type": "array", "items": _TIER}, "incident_id": nullable(TEXT),
    "seen_since": {**nullable(TIME), "description": "The route's first minute with requests within the SLO period: "
                   "budget_left judges only the time since (null without traffic)."}})
_INCIDENT = obj({
    "id": TEXT, "severity": {"enum": ["page", "ticket"]}, "slo": TEXT, "provider": TEXT, "model": TEXT, "client": TEXT,
    "status": {"enum": ["open", "resolved", "escalated"]}, "tier": TEXT, "started_at": TIME, "opened_at": TIME,
    "resolved_at": nullable(TIME), "last_judged_at": TIME, "reopened": INT, "notified": {"type": "boolean"},
    "notifications": INT, "peak_burn": NUMBER, "bad_events": INT, "total_events": INT})

_SILENCE = obj({
    "id": TEXT, "state": {"enum": ["active", "pending", "ended", "expired"]},
    **{name: nullable(TEXT) for name in ("slo", "severity", "provider", "model", "client")},
    "starts_at": TIME, "ends_at": TIME, "created_by": TEXT, "comment": TEXT, "expired_by": nullable(TEXT)})
_CHANGE = obj({"changed_at": TIME, "match": TEXT, "action": {"enum": ["put", "delete"]},
               "override": nullable({"type": "object"}), "previous": nullable({"type": "object"}), "changed_by": TEXT})
_OVERRIDE = {"type": "object", "required": ["match_key", "source", "match"], "description": "An override (see SloOverride).",
             "properties": {"match_key": TEXT, "source": {"enum": ["policy file", "api"]}, "match": {"type": "object"}}}
_SPAN = obj({
    "incident_id": TEXT, "severity": {"enum": ["page", "ticket"]}, "slo": TEXT, "provider": TEXT, "model": TEXT,
    "client": TEXT, "first_bad_minute": TEXT, "opened": TEXT, "resolved": nullable(TEXT), "minutes": INT,
    "still_open_at_end": {"type": "boolean"}, "notified": {"type": "boolean"}, "peak_burn": NUMBER,
    "detection_delay_minutes": INT}, description="An incident's opening in the replay; times to the minute (UTC).")
_REPLAY = obj({
    "policy": TEXT, "routes": INT, "seconds": NUMBER,
    "notifications": {"type": "object", "description": "Messages per severity and day."},
    "notifications_total": {"type": "object", "additionalProperties": INT}, "silenced_decisions": INT,
    "time_in_alert_minutes": {"type": "object", "additionalProperties": INT},
    "detection_delay_minutes": obj({"median": nullable(NUMBER), "max": nullable(NUMBER)}),
    "incidents": {"type": "array", "items": _SPAN}})
_CHANGE_SPANS = obj({"before": nullable(_SPAN), "after": nullable(_SPAN)})
_BASELINE_RATE = obj({"start": TIME, "requests": INT, "errors": INT, "rate": nullable(NUMBER)})

SCHEMAS: dict[str, Any] = {
    "Percentiles": PERCENTILES,
    "TokensPerSecond": SPEEDS,
    "UsageMeasures": obj(MEASURES),
    "UsageGroup": obj({**{d: _DIMENSION_TYPES[d] for d in DIMENSIONS}, **MEASURES}, required=tuple(MEASURES),
                      description="The group_by dimensions asked for, then the measures."),
    "UsagePoint": obj({"t": TIME, **{d: _DIMENSION_TYPES[d] for d in DIMENSIONS}, **MEASURES},
                      required=("t", *MEASURES), description="A bucket's start, the group_by dimensions, the measures."),
    "UsageStats": obj({**_WINDOW, "total": nullable(ref("UsageMeasures")),
                       "groups": {"type": "array", "items": ref("UsageGroup")}}),
    "UsageTimeseries": obj({**_WINDOW, "interval": {"enum": ["1m", "5m", "15m", "1h", "6h", "1d"]},
                            "points": {"type": "array", "items": ref("UsagePoint")}}),
    "UsageEvent": obj(_EVENT_TYPES, description="An event as recent and export show it: no secret, no IP address."),
    "UsageRecent": obj({"events": {"type": "array", "items": ref("UsageEvent")}}),
    "SloStatus": _STATUS,
    "SloStatusList": obj({"end": TIME, "period_days": INT, "period_start": TIME, "freshness": TEXT,
                          "ignored_overrides": {"type": "array", "items": TEXT}, "count": INT,
                          "statuses": {"type": "array", "items": ref("SloStatus")}}),
    "Incident": _INCIDENT,
    "Incidents": obj({"state": {"enum": ["open", "all"]}, "incidents": {"type": "array", "items": ref("Incident")}}),
    "Silence": _SILENCE,
    "Silences": obj({"silences": {"type": "array", "items": ref("Silence")}}),
    "SilenceChanged": obj({"success": {"const": True}, "silence": ref("Silence")}),
    "Overrides": obj({"overrides": {"type": "array", "items": _OVERRIDE}, "ignored": {"type": "array", "items": TEXT},
                      "changes": {"type": "array", "items": _CHANGE}}),
    "OverrideChanged": {"type": "object", "required": ["success", "applies", "changed_at", "match", "action"],
                        "properties": {"success": {"const": True}, "applies": TEXT, **_CHANGE["properties"]},
                        "additionalProperties": False},
    "Baseline": {"type": "object", "required": ["selector", "end", "error_slo", "error_rate", "latency", "suggestions"],
                 "properties": {"selector": obj({"model": TEXT, "provider": nullable(TEXT), "client": nullable(TEXT)}),
                                "end": TIME, "error_slo": nullable(TEXT), "include_byok": {"type": "boolean"},
                                "error_rate": {"type": "object", "additionalProperties": _BASELINE_RATE},
                                "latency": {"type": "object"}, "suggestions": {"type": "object"}}},
    "Backtest": obj({"from": TEXT, "to": TEXT, "current": _REPLAY, "candidate": _REPLAY,
                     "difference": obj({kind: {"type": "array", "items": _CHANGE_SPANS}
                                        for kind in ("added", "removed", "changed")})},
                    required=("from", "to", "current")),
    "SqlAnswer": {"type": "object", "required": ["meta", "data", "rows"], "description": "ClickHouse's JSONCompact.",
                  "properties": {"meta": {"type": "array", "items": obj({"name": TEXT, "type": TEXT})},
                                 "data": {"type": "array", "items": {"type": "array"}}, "rows": INT}},
}
