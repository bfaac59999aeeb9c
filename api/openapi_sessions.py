"""The sessions endpoints in `/openapi.json`: their routes and the JSON Schemas of their answers."""

from __future__ import annotations

from typing import Any

from api.openapi_schemas import INT, NUMBER, TEXT, TIME, nullable, obj, ref
from api.session_list import SESSION_FIELDS
from api.session_query import DIMENSIONS, SessionExportQuery, SessionRecentQuery, SessionStatsQuery, SessionTimeseriesQuery

_RATE = nullable({"type": "number", "minimum": 0, "maximum": 1})
_LEVELS = obj({name: nullable(NUMBER) for name in ("p50", "p95", "p99")},
              description="Milliseconds, from t-digests (approximate); null: no session reported one.")
MEASURES: dict[str, Any] = {
    "sessions": INT, "failed_sessions": {**INT, "description": "Sessions whose terminationReason is `error`."},
    "failure_rate": {**_RATE, "description": "failed_sessions / sessions (null: no session)."},
    "stuck_sessions": {**INT, "description": "Sessions with at least one stuck tool call."}, "stuck_tool_calls": INT,
    "turns": INT, "steps": INT, "tool_calls": INT, "tool_errors": INT,
    "tool_error_rate": {**_RATE, "description": "tool_errors / tool_calls (null: no call)."}, "errors": INT,
    "tokens": obj({name: INT for name in ("input", "output", "reasoning", "cache_read", "cache_write")}),
    "cost_usd": {"type": "number", "minimum": 0, "description": "What the sessions cost, as the gateway reported it."},
    "first_response_ms": {**ref("SessionPercentiles"), "description": "Time to first response."},
    "duration_ms": {**ref("SessionPercentiles"), "description": "Session duration."},
}
_KEYS: dict[str, Any] = {d: TEXT for d in DIMENSIONS}
_WINDOW = {"from": TIME, "to": TIME, "source": {"enum": ["rollup", "raw", "rollup+raw"]},
           "group_by": {"type": "array", "items": {"enum": list(DIMENSIONS)}}, "percentiles": TEXT,
           "truncated": {"type": "boolean"}}
_COUNTS = {"type": "object", "additionalProperties": INT}
_SESSION: dict[str, Any] = {
    "event_id": {"type": "string", "format": "uuid"}, "received_at": TIME, "client": TEXT, "user": TEXT,
    "organization": TEXT, "session_id": TEXT, "platform": TEXT, "model": TEXT,
    "termination_reason": {"enum": ["completed", "error", "interrupted", "abandoned", "unknown"]}, "duration_ms": INT,
    "first_response_ms": nullable(INT), "turns": INT, "steps": INT, "tool_calls": INT, "tool_errors": INT,
    "tool_calls_by_type": _COUNTS, "tool_errors_by_type": _COUNTS, "errors": INT, "errors_by_type": _COUNTS,
    "stuck_tool_calls": INT, **{f"{kind}_tokens": INT for kind in ("input", "output", "reasoning", "cache_read",
                                                                    "cache_write")},
    "cost_usd": {"type": "number", "minimum": 0}, "compactions": INT, "auto_compactions": INT,
}
assert tuple(_SESSION) == SESSION_FIELDS

SESSION_SCHEMAS: dict[str, Any] = {
    "SessionPercentiles": _LEVELS,
    "SessionMeasures": obj(MEASURES),
    "SessionGroup": obj({**_KEYS, **MEASURES}, required=tuple(MEASURES),
                        description="The group_by dimensions asked for, then the measures."),
    "SessionPoint": obj({"t": TIME, **_KEYS, **MEASURES}, required=("t", *MEASURES)),
    "SessionStats": obj({**_WINDOW, "total": nullable(ref("SessionMeasures")),
                         "groups": {"type": "array", "items": ref("SessionGroup")}}),
    "SessionTimeseries": obj({**_WINDOW, "interval": {"enum": ["1m", "5m", "15m", "1h", "6h", "1d"]},
                              "points": {"type": "array", "items": ref("SessionPoint")}}),
    "Session": obj(_SESSION, description="A session as recent and export show it: no secret, no IP address."),
    "SessionRecent": obj({"sessions": {"type": "array", "items": ref("Session")}}),
}


def session_paths(parameters: Any, answer: Any, read: dict[str, Any], busy: dict[str, Any]) -> dict[str, Any]:
    """`parameters(model)` and `answer(description, schema)` are the document's own builders."""
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "/v1/sessions/stats": {"get": {
            "summary": "Sessions, failed and stuck ones, tool calls and errors, tokens, cost and percentiles, per group",
            "security": bearer, "parameters": parameters(SessionStatsQuery),
            "responses": {"200": answer("Sessions", ref("SessionStats")), **read}}},
        "/v1/sessions/timeseries": {"get": {
            "summary": "The same measures per time bucket (and group)", "security": bearer,
            "parameters": parameters(SessionTimeseriesQuery),
            "responses": {"200": answer("Sessions over time", ref("SessionTimeseries")), **read}}},
        "/v1/sessions/recent": {"get": {
            "summary": "The latest sessions, newest first", "security": bearer, "parameters": parameters(SessionRecentQuery),
            "responses": {"200": answer("Sessions", ref("SessionRecent")), **read}}},
        "/v1/sessions/export": {"get": {
            "summary": "Every session of a range, streamed (NDJSON: one Session per line; CSV: its fields as columns)",
            "security": bearer, "parameters": parameters(SessionExportQuery),
            "responses": {"200": {"description": "The sessions, in storage order", "content": {
                "application/x-ndjson": {"schema": ref("Session")}, "text/csv": {"schema": {"type": "string"}}}},
                **read, **busy}}},
    }
