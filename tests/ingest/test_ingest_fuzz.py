"""Generated bodies, valid and hostile: the answer is always one a client can act on, never a 5xx but 503."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr

from ingest.edge.app import create_app
from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from support.events import SECRET, seed_event
from support.live_server import LiveServer
from support.raw_http import post_raw

ACTIONABLE = {204, 400, 403, 413, 415, 503}

names = st.text(min_size=1, max_size=20)
counts = st.integers(min_value=0, max_value=2**53 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
valid_events = st.fixed_dictionaries(
    {
        "clientSecret": st.just(SECRET),
        "kiloUserId": names,
        "isAnonymous": st.booleans(),
        "isStreaming": st.booleans(),
        "userByok": st.booleans(),
        "provider": names,
        "requestedModel": names,
        "resolvedModel": names,
        "toolsAvailable": st.lists(names, max_size=5),
        "toolsUsed": st.lists(names, max_size=5),
        "ttfbMs": counts,
        "completeRequestMs": counts,
        "statusCode": st.integers(min_value=100, max_value=599),
    },
    optional={
        "organizationId": names,
        "mode": names,
        "inferenceProvider": st.text(max_size=10),
        "ipAddress": st.ip_addresses().map(str),
        "tokens": st.fixed_dictionaries({}, optional={k: counts for k in ("inputTokens", "outputTokens", "totalTokens")}),
    },
)


@st.composite
def broken_events(draw: st.DrawFn) -> dict[str, Any]:
    event = dict(draw(valid_events))
    field = draw(st.sampled_from(sorted(set(event) - {"clientSecret"})))
    if draw(st.booleans()):
        del event[field]
        if field in {"organizationId", "mode", "inferenceProvider", "ipAddress", "tokens"}:
            event["statusCode"] = 1000  # removing an optional field alone is still valid
    else:
        replacement = draw(json_values)
        event[field] = replacement
        if ApiMetricsLike.accepts(field, replacement):
            event["ttfbMs"] = -1
    return event


class ApiMetricsLike:
    """Whether a replacement value happens to be valid for the field (then force another error)."""

    @staticmethod
    def accepts(field: str, value: Any) -> bool:
        from pydantic import ValidationError

        from schemas.api_metrics import ApiMetricsParams

        try:
            ApiMetricsParams.model_validate({**seed_event(), field: value})
        except ValidationError:
            return False
        return True


@pytest.fixture(scope="module")
def live_ingest(kafka: EmbeddedKafka) -> Iterator[LiveServer]:
    settings = Settings(
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        kafka_topic="fuzz",
        client_secrets={"kilo-gateway": [SecretStr(SECRET)]},
    )
    with LiveServer(lambda: create_app(settings)) as server:
        yield server


FUZZ = hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FUZZ
@given(event=valid_events)
def test_every_valid_event_is_acknowledged(live_ingest: LiveServer, event: dict[str, Any]) -> None:
    assert post_raw(live_ingest, json.dumps(event).encode()) == 204


@FUZZ
@given(event=broken_events())
def test_every_broken_event_is_a_400(live_ingest: LiveServer, event: dict[str, Any]) -> None:
    assert post_raw(live_ingest, json.dumps(event).encode()) == 400


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bytes_get_an_actionable_answer(live_ingest: LiveServer, body: bytes) -> None:
    assert post_raw(live_ingest, body) in ACTIONABLE
    assert post_raw(live_ingest, body, path="/ingest/api-metrics/batch") in ACTIONABLE - {204} | {200}


@pytest.mark.parametrize(
    "body",
    [
        b'{"ttfbMs": NaN}',
        b'{"ttfbMs": Infinity}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"kiloUserId": "\xff\xfe"}',
        json.dumps({**seed_event(), "statusCode": 200, "statusCode ": 500}).encode(),
        json.dumps(seed_event(statusCode=200))[:-1].encode() + b', "statusCode": 700}',
        json.dumps(seed_event(statusCode=10**400)).encode(),
        b"null",
        b"",
    ],
    ids=[
        "nan",
        "infinity",
        "deep-array",
        "deep-object",
        "invalid-utf8",
        "near-duplicate-key",
        "duplicate-key-last-wins",
        "huge-number",
        "null",
        "empty",
    ],
)
def test_hostile_bodies_are_400(live_ingest: LiveServer, body: bytes) -> None:
    expected = 204 if b"statusCode " in body else 400
    assert post_raw(live_ingest, body) == expected
    assert post_raw(live_ingest, body, path="/ingest/api-metrics/batch") == 400


DEEP_EXTRA = json.dumps(seed_event())[:-1].encode() + b', "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}"


@pytest.mark.parametrize(("path", "body"), [("/ingest/api-metrics", DEEP_EXTRA),
                                            ("/ingest/api-metrics/batch", b"[" + DEEP_EXTRA + b"]")])
def test_an_event_nested_deeper_than_any_parser_goes_is_a_400_wherever_its_secret_is(
        live_ingest: LiveServer, path: str, body: bytes) -> None:
    for headers in ({}, {"Authorization": f"Bearer {SECRET}"}):
        assert post_raw(live_ingest, body, path=path, headers=headers) == 400


def test_a_slow_body_is_answered_408_in_bounded_time(kafka: EmbeddedKafka) -> None:
    import socket
    import time

    settings = Settings(
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        kafka_topic="slow",
        client_secrets={"kilo-gateway": [SecretStr(SECRET)]},
        http_body_timeout_s=0.5,
    )
    with LiveServer(lambda: create_app(settings)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /ingest/api-metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 500\r\n\r\n{"kiloUserId": '
            )
            started = time.monotonic()
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
            assert time.monotonic() - started < 5


@FUZZ
@given(items=st.lists(valid_events | broken_events() | json_values, min_size=1, max_size=8))
def test_every_batch_item_is_accepted_or_refused_by_index(live_ingest: LiveServer, items: list[Any]) -> None:
    status, body = post_raw(
        live_ingest,
        json.dumps(items).encode(),
        path="/ingest/api-metrics/batch",
        headers={"Authorization": f"Bearer {SECRET}"},
        with_body=True,
    )
    assert status in {200, 400}
    answer = json.loads(body)
    assert answer["accepted"] + len(answer["rejected"]) == len(items)
    assert [r["index"] for r in answer["rejected"]] == sorted(r["index"] for r in answer["rejected"])


@pytest.mark.parametrize("secret", [["a-list"], {"an": "object"}, 12345, True])
def test_a_secret_that_is_not_a_string_is_a_400(live_ingest: LiveServer, secret: Any) -> None:
    assert post_raw(live_ingest, json.dumps(seed_event(clientSecret=secret)).encode()) == 400
    batch = json.dumps([seed_event(clientSecret=secret), seed_event()]).encode()
    assert post_raw(live_ingest, batch, path="/ingest/api-metrics/batch") == 400
