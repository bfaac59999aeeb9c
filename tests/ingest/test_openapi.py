"""The OpenAPI description: served, kept in the repo, and fuzzed against the running service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr

from ingest.edge.app import create_app
from ingest.edge.openapi import openapi_document
from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from support.events import SECRET
from support.live_server import LiveServer
from support.raw_http import post_raw

DOCUMENT = openapi_document()
SCHEMAS = DOCUMENT["components"]["schemas"]


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid under the subset of JSON Schema the description uses."""
    if "$ref" in schema:
        return from_schema(SCHEMAS[schema["$ref"].rsplit("/", 1)[1]])
    if schema.get("anyOf") and schema.get("type") == "string":
        formats = {v.get("format") for v in schema["anyOf"]}
        assert formats <= {"ipv4", "ipv6"}, formats
        return st.ip_addresses().map(str)
    if schema.get("format") == "uuid":
        return st.uuids().map(str)
    kind = schema.get("type")
    if kind == "object":
        properties = {name: from_schema(sub) for name, sub in schema["properties"].items()}
        required = set(schema.get("required", []))
        return st.fixed_dictionaries({k: v for k, v in properties.items() if k in required},
                                     optional={k: v for k, v in properties.items() if k not in required})
    if kind == "string":
        return st.text(min_size=schema.get("minLength", 0), max_size=min(30, schema.get("maxLength", 30)))
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(from_schema(schema["items"]), min_size=schema.get("minItems", 0),
                        max_size=min(5, schema.get("maxItems", 5)))
    raise AssertionError(f"the description uses a schema this generator does not know: {schema}")


EVENT_SCHEMA = {"$ref": "#/components/schemas/ApiMetricsEvent"}
FUZZ = hsettings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def live(kafka: EmbeddedKafka) -> Iterator[LiveServer]:
    settings = Settings(kafka_bootstrap_servers=kafka.bootstrap_servers, kafka_topic="openapi-fuzz",
                        client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
    with LiveServer(lambda: create_app(settings)) as server:
        yield server


def test_the_checked_in_description_is_current() -> None:
    path = Path(__file__).resolve().parents[2] / "ingest" / "edge" / "openapi.json"
    assert json.loads(path.read_text()) == DOCUMENT, "regenerate: python -m ingest.edge.openapi > ingest/edge/openapi.json"


def test_the_service_serves_its_description(live: LiveServer) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{live.url}/openapi.json", timeout=10) as response:
        assert json.loads(response.read()) == json.loads(json.dumps(DOCUMENT))


@FUZZ
@given(event=from_schema(EVENT_SCHEMA))
def test_every_event_the_description_allows_is_acknowledged(live: LiveServer, event: dict[str, Any]) -> None:
    body = json.dumps(event).encode()
    assert post_raw(live, body, headers={"Authorization": f"Bearer {SECRET}"}) == 204, body[:500]


@FUZZ
@given(items=st.lists(from_schema(EVENT_SCHEMA), min_size=1, max_size=5))
def test_every_batch_the_description_allows_is_fully_accepted(live: LiveServer, items: list[dict[str, Any]]) -> None:
    status, body = post_raw(live, json.dumps(items).encode(), path="/ingest/api-metrics/batch",
                            headers={"Authorization": f"Bearer {SECRET}"}, with_body=True)
    assert (status, json.loads(body)["accepted"]) == (200, len(items))  # a header secret: body secrets are ignored
