"""The OpenAPI description of `o11y api`, built from the models that validate its requests."""

from __future__ import annotations

from typing import Any

from alerting.incidents.silences import SilenceRequest
from api.backtest_api import BacktestRequest
from api.incidents_api import IncidentQuery
from api.openapi_schemas import SCHEMAS, ref
from api.openapi_sessions import SESSION_SCHEMAS, session_paths
from api.sql_api import SqlRequest
from api.status_api import StatusQuery
from api.usage_query import ExportQuery, RecentQuery, StatsQuery, TimeseriesQuery
from schemas.slo_overrides import MATCH_FIELDS, SloOverride

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ERROR = {"type": "object", "required": ["success", "error"], "properties": {
    "success": {"const": False}, "error": {"type": "string"}, "issues": {"type": "array", "items": {"type": "string"}}}}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "Invalid parameters or body: every reason in `issues`", 401: "No token, or an unknown one",
             403: "A read token where an admin token is needed, or an ingest secret", 404: "Not found",
             409: "Already ended", 429: "Too many at once (exports, backtests): retry after `Retry-After` seconds",
             503: "ClickHouse unavailable: retry later"}
    return {str(code): _answer(words[code], ERROR) for code in codes}


def _query(model: type[Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    found = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        found.append(parameter)
    return found


def _strings(*names: str, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": n in required, "schema": {"type": "string"}} for n in names]


def _body(model: type[Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}


def _pages() -> dict[str, Any]:
    """The HTML pages: a session cookie (from `POST /ui/login`) instead of a Bearer token; 302 to sign in without one."""
    cookie: list[dict[str, list[str]]] = [{"session": []}]
    html = {"200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}},
            "302": {"description": "Not signed in: to /ui/login"}}
    seen = {"303": {"description": "Done: back to the incidents page"},
            "400": {"description": "Refused, with the reasons (a page)"},
            "403": {"description": "Not an admin's session, or a stale form"}}
    form = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}
    page = {"get": {"summary": "", "security": cookie, "responses": html}}
    return {
        "/": {"get": {"summary": "To the overview", "responses": {"302": {"description": "To /ui/"}}}},
        "/ui": {"get": {"summary": "To the overview", "responses": {"302": {"description": "To /ui/"}}}},
        "/ui/login": {
            "get": {"summary": "The sign-in page", "responses": {"200": html["200"]}},
            "post": {"summary": "Sign in with a read or admin token (form field `token`): sets the session cookie",
                     "requestBody": form, "responses": {"303": {"description": "Signed in: to `next`"},
                                                        "401": {"description": "Unknown token (a page)"}}}},
        "/ui/logout": {"post": {"summary": "Sign out", "responses": {"303": {"description": "To /ui/login"}}}},
        "/ui/": {"get": {**page["get"], "summary": "Overview: every SLO of every route, least budget left first"}},
        "/ui/route": {"get": {**page["get"], "summary": "One route: charts, incidents, baseline",
                              "parameters": _strings("provider", "model", "client", "range",
                                                     required=("provider", "model", "client"))}},
        "/ui/usage": {"get": {**page["get"], "summary": "Usage and cost for a range (`format=csv`: the table)",
                              "parameters": _strings("range", "group_by", "format")}},
        "/ui/sessions": {"get": {**page["get"], "summary": "Agent sessions: termination reasons over time, tool errors by "
                                                           "tool type, stuck tool calls",
                                 "parameters": _strings("range", "platform", "model", "client", "tool")}},
        "/ui/incidents": {"get": {**page["get"], "summary": "Open incidents, silences, history"}},
        "/ui/silences": {"post": {"summary": "Silence an incident's route (admin session, CSRF token)",
                                  "security": cookie, "requestBody": form, "responses": seen}},
        "/ui/silences/{silence_id}/expire": {"post": {
            "summary": "Expire a silence now (admin session, CSRF token)", "security": cookie, "requestBody": form,
            "parameters": [{"name": "silence_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": seen}},
    }


def api_document() -> dict[str, Any]:
    read = _errors(400, 401, 403, 503)
    write = _errors(400, 401, 403, 503)
    paths: dict[str, Any] = {
        "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": _answer("Alive")}}},
        "/readyz": {"get": {"summary": "Readiness per component, with each check's latency (details for admin tokens)",
                            "security": [], "responses": {"200": _answer("Ready"), "503": _answer("Not ready")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {"description": "text"}}}},
        "/openapi.json": {"get": {"summary": "This description", "security": [], "responses": {"200": _answer("OpenAPI")}}},
        "/v1/incidents": {"get": {"summary": "Open incidents, or their history", "security": BEARER,
                                  "parameters": _query(IncidentQuery),
                                  "responses": {"200": _answer("Incidents", ref("Incidents")), **read}}},
        "/v1/slo/status": {"get": {"summary": "Every SLO of every route: state, burn per tier, error budget left",
                                   "security": BEARER, "parameters": _query(StatusQuery),
                                   "responses": {"200": _answer("Statuses, least budget left first", ref("SloStatusList")),
                                                 **read}}},
        "/v1/usage/stats": {"get": {
            "summary": "Requests, errors, latency percentiles, tokens and cost, in total and per group", "security": BEARER,
            "parameters": _query(StatsQuery), "responses": {"200": _answer("Usage", ref("UsageStats")), **read}}},
        "/v1/usage/timeseries": {"get": {
            "summary": "The same measures per time bucket (and group)", "security": BEARER,
            "parameters": _query(TimeseriesQuery), "responses": {"200": _answer("Usage over time", ref("UsageTimeseries")),
                                                                 **read}}},
        "/v1/usage/recent": {"get": {
            "summary": "The latest events, newest first, with their cost", "security": BEARER,
            "parameters": _query(RecentQuery), "responses": {"200": _answer("Events", ref("UsageRecent")), **read}}},
        "/v1/usage/export": {"get": {
            "summary": "Every event of a range, streamed (NDJSON: one UsageEvent per line; CSV: its fields as columns)",
            "security": BEARER, "parameters": _query(ExportQuery),
            "responses": {"200": {"description": "The events, in storage order", "content": {
                "application/x-ndjson": {"schema": ref("UsageEvent")}, "text/csv": {"schema": {"type": "string"}}}},
                **read, **_errors(429)}}},
        **session_paths(_query, _answer, read, _errors(429)),
        "/v1/sql": {"post": {
            "summary": "A read-only query (admin): ClickHouse's JSONCompact, CSVWithNames or TSVWithNames",
            "security": BEARER, "requestBody": _body(SqlRequest),
            "responses": {"200": {"description": "The result", "content": {
                "application/json": {"schema": ref("SqlAnswer")}, "text/csv": {"schema": {"type": "string"}},
                "text/tab-separated-values": {"schema": {"type": "string"}}}}, **write}}},
        "/v1/slo/overrides": {
            "get": {"summary": "Overrides in force and the last changes", "security": BEARER,
                    "responses": {"200": _answer("Overrides in force and the last changes", ref("Overrides")), **read}},
            "put": {"summary": "Create or replace the runtime override of a match (admin)", "security": BEARER,
                    "requestBody": _body(SloOverride),
                    "responses": {"200": _answer("Replaced", ref("OverrideChanged")),
                                  "201": _answer("Created", ref("OverrideChanged")), **write}},
            "delete": {"summary": "Delete the runtime override of exactly this match (admin)", "security": BEARER,
                       "parameters": _strings(*MATCH_FIELDS),
                       "responses": {"200": _answer("Deleted", ref("OverrideChanged")), **write, **_errors(404)}},
        },
        "/v1/slo/baseline": {"get": {"summary": "Error rates and latency percentiles of a route, with suggestions",
                                     "security": BEARER,
                                     "parameters": _strings("model", "provider", "client", required=("model",)),
                                     "responses": {"200": _answer("Baseline", ref("Baseline")), **read}}},
        "/v1/slo/backtest": {"post": {
            "summary": "What the policy in force (and a candidate) would have done over stored data (admin; at most 31 days)",
            "security": BEARER, "requestBody": _body(BacktestRequest),
            "responses": {"200": _answer("The replay of each policy and their difference", ref("Backtest")), **write,
                          **_errors(429)}}},
        "/v1/silences": {
            "get": {"summary": "Silences", "security": BEARER, "parameters": [
                {"name": "state", "in": "query", "schema": {"enum": ["current", "all"]}}],
                    "responses": {"200": _answer("Silences", ref("Silences")), **read}},
            "post": {"summary": "Add a silence (admin)", "security": BEARER, "requestBody": _body(SilenceRequest),
                     "responses": {"201": _answer("Added", ref("SilenceChanged")), **write}},
        },
        "/v1/silences/{silence_id}": {"delete": {
            "summary": "Expire a silence now (admin)", "security": BEARER,
            "parameters": [{"name": "silence_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _answer("Expired", ref("SilenceChanged")), **write, **_errors(404, 409)}}},
    }
    paths.update(_pages())
    return {
        "openapi": "3.1.0",
        "info": {"title": "o11y read API", "version": "1",
                 "description": "Usage and cost, agent sessions, SLO status, incidents, overrides, silences, baselines and "
                                "read-only SQL. "
                                "Bearer: a read token, or an admin token (which may also write)."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "session": {"type": "apiKey", "in": "cookie", "name": "o11y_session"}},
                       "schemas": {**SCHEMAS, **SESSION_SCHEMAS}},
    }
