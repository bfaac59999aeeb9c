"""The OpenAPI description of `o11y api`, built from the models that validate its requests."""

from __future__ import annotations

from typing import Any

from alerting.silences import SilenceRequest
from api.incidents_api import IncidentQuery
from api.status_api import StatusQuery
from schemas.slo_overrides import MATCH_FIELDS, SloOverride

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ERROR = {"type": "object", "required": ["success", "error"], "properties": {
    "success": {"const": False}, "error": {"type": "string"}, "issues": {"type": "array", "items": {"type": "string"}}}}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "Invalid parameters or body: every reason in `issues`", 401: "No token, or an unknown one",
             403: "A read token where an admin token is needed, or an ingest secret", 404: "Not found",
             409: "Already ended", 503: "ClickHouse unavailable: retry later"}
    return {str(code): _answer(words[code], ERROR) for code in codes}


def _query(model: type[Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    return [{"name": name, "in": "query", "required": False, "schema": prop} for name, prop in schema["properties"].items()]


def _strings(*names: str, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": n in required, "schema": {"type": "string"}} for n in names]


def _body(model: type[Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}


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
                                  "parameters": _query(IncidentQuery), "responses": {"200": _answer("Incidents"), **read}}},
        "/v1/slo/status": {"get": {"summary": "Every SLO of every route: state, burn per tier, error budget left",
                                   "security": BEARER, "parameters": _query(StatusQuery),
                                   "responses": {"200": _answer("Statuses, least budget left first"), **read}}},
        "/v1/slo/overrides": {
            "get": {"summary": "Overrides in force and the last changes", "security": BEARER,
                    "responses": {"200": _answer("Overrides"), **read}},
            "put": {"summary": "Create or replace the runtime override of a match (admin)", "security": BEARER,
                    "requestBody": _body(SloOverride),
                    "responses": {"200": _answer("Replaced"), "201": _answer("Created"), **write}},
            "delete": {"summary": "Delete the runtime override of exactly this match (admin)", "security": BEARER,
                       "parameters": _strings(*MATCH_FIELDS),
                       "responses": {"200": _answer("Deleted"), **write, **_errors(404)}},
        },
        "/v1/slo/baseline": {"get": {"summary": "Error rates and latency percentiles of a route, with suggestions",
                                     "security": BEARER,
                                     "parameters": _strings("model", "provider", "client", required=("model",)),
                                     "responses": {"200": _answer("Baseline"), **read}}},
        "/v1/silences": {
            "get": {"summary": "Silences", "security": BEARER, "parameters": [
                {"name": "state", "in": "query", "schema": {"enum": ["current", "all"]}}],
                    "responses": {"200": _answer("Silences"), **read}},
            "post": {"summary": "Add a silence (admin)", "security": BEARER, "requestBody": _body(SilenceRequest),
                     "responses": {"201": _answer("Added"), **write}},
        },
        "/v1/silences/{silence_id}": {"delete": {
            "summary": "Expire a silence now (admin)", "security": BEARER,
            "parameters": [{"name": "silence_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _answer("Expired"), **write, **_errors(404, 409)}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "o11y read API", "version": "1",
                 "description": "Incidents, SLO overrides, silences and baselines. Bearer: a read or admin token."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
