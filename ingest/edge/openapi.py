"""The OpenAPI description of the ingest API, built from the same models that validate requests.

`python -m ingest.edge.openapi > ingest/edge/openapi.json` regenerates the checked-in copy (a test keeps them equal).
"""

from __future__ import annotations

import json
from typing import Any

from schemas.api_metrics import wire_json_schema
from schemas.event_kinds import Kind
from schemas.event_message import REQUESTS
from schemas.event_registry import EVENT_TYPES
from schemas.idempotency_key import MAX_LENGTH, NAMESPACE

REF = "#/components/schemas/{model}"


def _error(description: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"success": {"const": False}, "error": {"type": "string"}, **(extra or {})}
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": ["success", "error"], "properties": properties}}}}


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH,
               "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"},
    "description": f"1 to {MAX_LENGTH} printable ASCII characters (space to '~'), e.g. a UUID or a gateway's request id "
                   "(`req_…`), as sent or in the IETF draft's quoted form (`\"req_…\"`); the same key on a retry stores "
                   "the event once. Another key is 400 invalid_idempotency_key.",
}
ISSUES = {"issues": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}}}
COMMON_ERRORS = {
    "400": _error("Invalid request body: each issue names the field path and the problem", ISSUES),
    "403": _error("Authentication failed: unknown or blank client secret"),
    "408": _error("The body was not received in time"),
    "413": _error("Request body too large"),
    "415": _error("Unsupported media type: send application/json"),
    "503": {**_error("The broker did not acknowledge in time: retry later"),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}},
}


def _component(kind: Kind) -> str:
    """`ApiMetricsEvent`, `SessionMetricsEvent`: the schema of one event of the type."""
    return "".join(part.title() for part in kind.name.split("-")) + "Event"


def _event_schemas(kind: Kind) -> dict[str, Any]:
    """The type's event schema and the nested ones it refers to, as OpenAPI components."""
    event = wire_json_schema(kind.wire, f"/ingest/{kind.name}", f"One {kind.noun}")
    definitions = event.pop("$defs", {})
    event.pop("$schema", None)
    schemas = {name: json.loads(json.dumps(d).replace("#/$defs/", "#/components/schemas/"))
               for name, d in definitions.items()}
    schemas[_component(kind)] = json.loads(json.dumps(event).replace("#/$defs/", "#/components/schemas/"))
    return schemas


def _paths(kind: Kind, security: list[dict[str, list[str]]]) -> dict[str, Any]:
    """`/ingest/<type>` and `/ingest/<type>/batch`: the same answers for every event type."""
    ref = {"$ref": REF.format(model=_component(kind))}
    suffix = "" if kind is REQUESTS else "".join(part.title() for part in kind.name.split("-"))
    return {
        f"/ingest/{kind.name}": {
            "post": {
                "summary": f"Report one {kind.noun}",
                "operationId": f"ingestEvent{suffix}",
                "security": security,
                "parameters": [{**IDEMPOTENCY_KEY, "description": IDEMPOTENCY_KEY["description"] + (
                    " A UUID key is the event's id itself, in canonical form; any other key names "
                    f"uuid5({NAMESPACE}, client name + \"\\n\" + key), so the same key from two clients names two events. "
                    "With `eventId` in the body too, the id the key names must equal it, else 400 conflicting_event_id."
                )}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
                "responses": {"204": {"description": "Acknowledged by the broker"}, **COMMON_ERRORS},
            }
        },
        f"/ingest/{kind.name}/batch": {
            "post": {
                "summary": f"Report up to 1000 {kind.noun}s of one client",
                "operationId": f"ingestBatch{suffix}",
                "security": security,
                "parameters": [{**IDEMPOTENCY_KEY, "description": IDEMPOTENCY_KEY["description"] + (
                    " It names the batch request: an item without `eventId` gets "
                    f"uuid5({NAMESPACE}, client name + \"\\n\" + key + \"\\n\" + its index in the array), a UUID key "
                    "in canonical form; an item's own `eventId` is kept."
                )}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "array", "minItems": 1, "maxItems": 1000, "items": ref}}}},
                "responses": {
                    "200": {"description": "Accepted items acknowledged; rejected items listed",
                            "content": {"application/json": {"schema": BATCH_OK}}},
                    **COMMON_ERRORS,
                },
            }
        },
    }


BATCH_OK = {"type": "object", "required": ["success", "accepted", "rejected"], "properties": {
    "success": {"type": "boolean"}, "accepted": {"type": "integer", "minimum": 0},
    "error": {"type": "string"},
    "rejected": {"type": "array", "items": {"type": "object", "required": ["index", "issues"], "properties": {
        "index": {"type": "integer", "minimum": 0}, **ISSUES}}}}}


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {name: schema for kind in EVENT_TYPES.values() for name, schema in _event_schemas(kind).items()}
    schemas["Issue"] = {"type": "object", "required": ["code", "path", "message"], "properties": {
        "code": {"type": "string"}, "path": {"type": "array", "items": {"type": ["string", "integer"]}},
        "message": {"type": "string"}}}
    security: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"clientSecretHeader": []}, {"adminTokenHeader": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "o11y ingest API",
            "version": "1",
            "description": "Per-request metrics from LLM API gateways, and finished agent sessions. A 2xx means the "
                           "event is in Kafka (acks=all).",
        },
        "paths": {
            **{path: operation for kind in EVENT_TYPES.values() for path, operation in _paths(kind, security).items()},
            "/healthz": {
                "get": {"summary": "Process alive", "operationId": "healthz", "responses": {"200": {"description": "alive"}}}
            },
            "/readyz": {
                "get": {
                    "summary": "Dependencies reachable, per component",
                    "operationId": "readyz",
                    "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "operationId": "metrics",
                    "responses": {"200": {"description": "text exposition format"}},
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "clientSecretHeader": {"type": "apiKey", "in": "header", "name": "X-O11Y-Client-Secret"},
                "adminTokenHeader": {"type": "apiKey", "in": "header", "name": "X-O11Y-ADMIN-TOKEN",
                                     "description": "The client secret, where the reference worker's later contract "
                                                    "sends it."},
            },
        },
    }


if __name__ == "__main__":
    print(json.dumps(openapi_document(), indent=2))
