"""The OpenAPI description of the ingest API, built from the same models that validate requests.

`python -m ingest.edge.openapi > ingest/edge/openapi.json` regenerates the checked-in copy (a test keeps them equal).
"""

from __future__ import annotations

import json
from typing import Any

from schemas.api_metrics import wire_json_schema
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


def openapi_document() -> dict[str, Any]:
    event = wire_json_schema()
    definitions = event.pop("$defs", {})
    event.pop("$schema", None)
    text = json.dumps(event).replace("#/$defs/", "#/components/schemas/")
    schemas: dict[str, Any] = {name: json.loads(json.dumps(d).replace("#/$defs/", "#/components/schemas/"))
                               for name, d in definitions.items()}
    schemas["ApiMetricsEvent"] = json.loads(text)
    schemas["Issue"] = {"type": "object", "required": ["code", "path", "message"], "properties": {
        "code": {"type": "string"}, "path": {"type": "array", "items": {"type": ["string", "integer"]}},
        "message": {"type": "string"}}}
    batch_ok = {"type": "object", "required": ["success", "accepted", "rejected"], "properties": {
        "success": {"type": "boolean"}, "accepted": {"type": "integer", "minimum": 0},
        "error": {"type": "string"},
        "rejected": {"type": "array", "items": {"type": "object", "required": ["index", "issues"], "properties": {
            "index": {"type": "integer", "minimum": 0}, **ISSUES}}}}}
    security: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"clientSecretHeader": []}, {"adminTokenHeader": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "o11y ingest API",
            "version": "1",
            "description": "Per-request metrics from LLM API gateways. A 2xx means the event is in Kafka (acks=all).",
        },
        "paths": {
            "/ingest/api-metrics": {
                "post": {
                    "summary": "Report one gateway request",
                    "operationId": "ingestEvent",
                    "security": security,
                    "parameters": [{**IDEMPOTENCY_KEY, "description": IDEMPOTENCY_KEY["description"] + (
                        " A UUID key is the event's id itself, in canonical form; any other key names "
                        f"uuid5({NAMESPACE}, client name + \"\\n\" + key), so the same key from two clients names two events. "
                        "With `eventId` in the body too, the id the key names must equal it, else 400 conflicting_event_id."
                    )}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiMetricsEvent"}}},
                    },
                    "responses": {"204": {"description": "Acknowledged by the broker"}, **COMMON_ERRORS},
                }
            },
            "/ingest/api-metrics/batch": {
                "post": {
                    "summary": "Report up to 1000 requests of one client",
                    "operationId": "ingestBatch",
                    "security": security,
                    "parameters": [{**IDEMPOTENCY_KEY, "description": IDEMPOTENCY_KEY["description"] + (
                        " It names the batch request: an item without `eventId` gets "
                        f"uuid5({NAMESPACE}, client name + \"\\n\" + key + \"\\n\" + its index in the array), a UUID key "
                        "in canonical form; an item's own `eventId` is kept."
                    )}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 1000,
                                    "items": {"$ref": "#/components/schemas/ApiMetricsEvent"},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Accepted items acknowledged; rejected items listed",
                            "content": {"application/json": {"schema": batch_ok}},
                        },
                        **COMMON_ERRORS,
                    },
                }
            },
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
