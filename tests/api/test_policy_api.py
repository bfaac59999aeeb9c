"""The policy endpoints over HTTP: who may read and change, what a bad body gets, what is stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from alerting.policy.store import PolicyStore
from api.openapi import api_document
from api.policy_api import PolicyApi
from runtime.settings import Settings
from schemas.alert_policy import MAX_OVERRIDES, default_policy
from support.alerting_harness import forget_alert_state
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.openapi_check import check_answer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
READER = {"Authorization": f"Bearer {READ_TOKEN}"}
INGEST = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any) -> AsyncIterator[Any]:
    forget_alert_state(clickhouse)
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                        client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
    app = web.Application()
    PolicyApi(settings, default_policy(), clickhouse).add_routes(app)
    yield await aiohttp_client(app)


async def test_reads_need_a_read_or_admin_token_and_changes_an_admin_token(api: Any) -> None:
    body = {"match": {"model": "free/*"}, "objective": "0.99"}
    assert (await api.get("/v1/slo/overrides")).status == 401
    assert (await api.get("/v1/slo/overrides", headers={"Authorization": "Bearer not-a-token-at-all"})).status == 401
    assert (await api.get("/v1/slo/overrides", headers=INGEST)).status == 403
    assert (await api.get("/v1/slo/overrides", headers=READER)).status == 200
    for headers, status in ((None, 401), (INGEST, 403), (READER, 403)):
        answer = await api.put("/v1/slo/overrides", json=body, headers=headers)
        assert answer.status == status
        text = await answer.text()
        assert SECRET not in text and READ_TOKEN not in text
    assert (await api.post("/v1/silences", json={}, headers=READER)).status == 403
    assert (await api.delete("/v1/silences/abc", headers=READER)).status == 403
    assert (await api.put("/v1/slo/overrides", json=body, headers=ADMIN)).status == 201


async def test_an_override_is_stored_with_who_and_when_and_can_be_replaced_and_deleted(api: Any, clickhouse: Any) -> None:
    model = f"m-{uuid.uuid4().hex[:6]}"
    first = await api.put("/v1/slo/overrides", json={"match": {"model": model}, "objective": "0.99"}, headers=ADMIN)
    assert first.status == 201
    second = await api.put("/v1/slo/overrides", json={"match": {"model": model}, "objective": "0.995", "page": False,
                                                      "scope": f"model={model}"}, headers=ADMIN)
    assert second.status == 200
    assert (await second.json())["previous"] == {"match": {"model": model}, "objective": "0.99"}
    document = api_document()
    check_answer(document, "/v1/slo/overrides", await second.json(), method="put")
    listed = await (await api.get("/v1/slo/overrides", headers=READER)).json()
    check_answer(document, "/v1/slo/overrides", listed)
    assert [o for o in listed["overrides"] if o["source"] == "api"] == [
        {"match_key": f"model={model}", "source": "api", "match": {"model": model}, "objective": "0.995", "page": False,
         "scope": f"model={model}"}]
    assert [(c["action"], c["changed_by"]) for c in listed["changes"]] == [("put", "alice"), ("put", "alice")]
    assert (await api.delete(f"/v1/slo/overrides?model={model}", headers=ADMIN)).status == 200
    assert (await api.delete(f"/v1/slo/overrides?model={model}", headers=ADMIN)).status == 404
    assert PolicyStore(clickhouse).overrides() == ([], [])
    stored = clickhouse.query("SELECT action, changed_by FROM o11y.slo_override_changes ORDER BY changed_at").result_rows
    assert stored == [("put", "alice"), ("put", "alice"), ("delete", "alice")]


@pytest.mark.parametrize(("body", "reason"), [
    ({"match": {"model": "x"}, "objective": "0.9"}, "burn rate 14.4 can never be reached"),
    ({"match": {"model": "x"}, "objective": 1.5}, "objective: Input should be less than 1"),
    ({"match": {"model": "x"}}, "at least one of enabled, page"),
    ({"match": {"model": "x"}, "objectiv": "0.99"}, "objectiv: Extra inputs are not permitted"),
    ({"match": {"slo": "nope"}, "objective": "0.99"}, "matches no SLO"),
    ({"match": {"model": " "}, "page": True}, "match.model: must be a name or a glob pattern"),
    ({"match": {"model": "x"}, "windows": [{"severity": "page", "long_minutes": 5, "short_minutes": 10, "burn_rate": 2}]},
     "short window (10m) must be shorter than the long one (5m)"),
    ({"match": {"model": "x"}, "min_requests": 10**30}, "min_requests"),
    ({"match": {"model": "x"}, "objective": "1e-999999999"}, "objective: Decimal input should have no more than"),
    ({"match": {"model": "x"}, "confidence": "0.5e-99999999999"}, "confidence: Decimal input should have no more than"),
    ({"match": {"slo": "generation_speed"}, "latency": {"percentile": "1e-999999999"}}, "latency.percentile: Decimal input"),
    ({"match": {"slo": "generation_speed"}, "latency": {"min_output_tokens": 1}}, "min_output_tokens: Input should be greater"),
    ({"match": {"slo": "time_to_first_token"}, "latency": {"streaming": "often"}}, "latency.streaming"),
    ({"match": {"model": "x"}, "windows": [{"severity": "page", "long_minutes": 5, "short_minutes": 1,
                                            "burn_rate": "1e999999999"}]}, "burn_rate: Decimal input"),
    ({"match": {"model": "x"}, "objective": "0.9999999999"}, "no more than 9 decimal places"),
    ({"match": {"model": "**"}, "page": False}, "'**' matches every name"),
    ({"match": {"provider": "*?", "model": "x"}, "objective": "0.99"}, "'*?' matches every name"),
    ({"match": {"client": "[a-z]*"}, "objective": "0.99"}, "'[a-z]*' matches every name"),
    ({"match": {}, "enabled": False}, 'enabled: false turns the SLO off on every route that * matches, not one route: if that '
                                      'is meant, say so with \\"scope\\": \\"*\\"'),
    ({"match": {"model": "free/*"}, "page": False}, '\\"scope\\": \\"model=free/*\\"'),
    ({"match": {"model": "free/*"}, "page": False, "scope": "*"}, "scope must repeat the match's key exactly: 'model=free/*'"),
    ([1, 2], "Input should be a valid dictionary"),
    ({"match": {"model": "team-a/*"}, "receivers": ["team-a-pager"]},
     "override model=team-a/* names unknown receiver(s) team-a-pager; known: slack-page, slack-ticket"),
])
async def test_a_bad_override_gets_400_with_its_reason(api: Any, body: Any, reason: str) -> None:
    answer = await api.put("/v1/slo/overrides", json=body, headers=ADMIN)
    assert answer.status == 400
    assert reason in json.dumps(await answer.json())


async def test_a_stored_override_beyond_todays_bounds_is_left_out_with_the_reason(api: Any, clickhouse: Any) -> None:
    """An override stored before numbers were bounded (an exponent of a billion) is never computed: listed as ignored."""
    key = f"model=old-{uuid.uuid4().hex[:6]}"
    stored = json.dumps({"match": {"model": key.removeprefix("model=")}, "objective": "1e-999999999"})
    clickhouse.insert("o11y.slo_override_changes", [[datetime.now(timezone.utc).replace(tzinfo=None), key, "put", stored, "",
                                                     "mallory"]],
                      column_names=["changed_at", "match_key", "action", "override", "previous", "changed_by"])
    answer = await api.get("/v1/slo/overrides", headers=READER)
    assert answer.status == 200
    body = await answer.json()
    assert all(o["match_key"] != key for o in body["overrides"])
    [ignored] = [reason for reason in body["ignored"] if key in reason]
    assert "stored" in ignored and "by mallory" in ignored and "objective" in ignored


async def test_runtime_overrides_are_capped(api: Any, clickhouse: Any) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [[now, f"model=cap-{i}", "put", json.dumps({"match": {"model": f"cap-{i}"}, "objective": "0.99"}), "", "bulk"]
            for i in range(MAX_OVERRIDES)]
    clickhouse.insert("o11y.slo_override_changes", rows,
                      column_names=["changed_at", "match_key", "action", "override", "previous", "changed_by"])
    one_more = await api.put("/v1/slo/overrides", json={"match": {"model": "cap-new"}, "objective": "0.99"}, headers=ADMIN)
    assert one_more.status == 409 and "the most allowed (500)" in (await one_more.json())["error"]
    replaced = await api.put("/v1/slo/overrides", json={"match": {"model": "cap-7"}, "objective": "0.995"}, headers=ADMIN)
    assert replaced.status == 200
    assert (await api.delete("/v1/slo/overrides?model=cap-8", headers=ADMIN)).status == 200
    assert (await api.put("/v1/slo/overrides", json={"match": {"model": "cap-new"}, "objective": "0.99"},
                          headers=ADMIN)).status == 201


async def test_hostile_bodies_and_parameters_never_get_a_5xx(api: Any) -> None:
    bodies = [b"", b"{", b"\xff\xfe", b"[" * 100_000, b'{"match": ' * 5000, b"null", b'"x"', b"1e999999",
              json.dumps({"match": {"model": "\u0000"}, "page": True}).encode(), b"{" + b" " * 70_000 + b"}"]
    for body in bodies:
        for method, path in (("PUT", "/v1/slo/overrides"), ("POST", "/v1/silences")):
            answer = await api.request(method, path, data=body, headers=ADMIN)
            assert 400 <= answer.status < 500, (path, body[:20], answer.status)
    for query in ("?model=%00", "?nope=1", "?model=" + "x" * 5000, "?slo=[", ""):
        answer = await api.delete(f"/v1/slo/overrides{query}", headers=ADMIN)
        assert 400 <= answer.status < 500, (query, answer.status)
    for query in ("", "?provider=x", "?model=x&bogus=1"):
        assert (await api.get(f"/v1/slo/baseline{query}", headers=READER)).status == 400
    assert (await api.get("/v1/silences?state=nope", headers=READER)).status == 400
    assert (await api.delete("/v1/silences/" + "x" * 100, headers=ADMIN)).status == 400


async def test_silences_are_added_listed_and_expired_by_name(api: Any) -> None:
    ends = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    added = await api.post("/v1/silences", json={"model": "gpt-4", "severity": "page", "ends_at": ends,
                                                 "comment": "provider maintenance"}, headers=ADMIN)
    assert added.status == 201
    document = api_document()
    check_answer(document, "/v1/silences", await added.json(), method="post", status="201")
    silence = (await added.json())["silence"]
    assert (silence["state"], silence["created_by"], silence["model"], silence["client"]) == ("active", "alice", "gpt-4", None)
    listed = await (await api.get("/v1/silences", headers=READER)).json()
    check_answer(document, "/v1/silences", listed)
    assert [s["id"] for s in listed["silences"]] == [silence["id"]]
    expired = await api.delete(f"/v1/silences/{silence['id']}", headers=ADMIN)
    assert expired.status == 200 and (await expired.json())["silence"]["expired_by"] == "alice"
    check_answer(document, "/v1/silences/{silence_id}", await expired.json(), method="delete")
    assert (await api.delete(f"/v1/silences/{silence['id']}", headers=ADMIN)).status == 409
    assert (await (await api.get("/v1/silences", headers=READER)).json())["silences"] == []
    assert [s["state"] for s in (await (await api.get("/v1/silences?state=all", headers=READER)).json())["silences"]] == [
        "expired"]
    assert (await api.delete("/v1/silences/unknown", headers=ADMIN)).status == 404


@pytest.mark.parametrize(("body", "reason"), [
    ({"ends_at": "2099-01-01T00:00:00Z", "comment": "all of it"}, "at least one of slo, provider, model, client"),
    ({"model": "x", "ends_at": "2000-01-01T00:00:00Z", "comment": "late"}, "ends_at is in the past"),
    ({"model": "x", "ends_at": "2099-01-01T00:00:00", "comment": "no zone"}, "timezone"),
    ({"model": "x", "ends_at": "2099-01-01T00:00:00Z", "comment": "too long"}, "at most 90 days"),
    ({"model": "x", "ends_at": "2099-01-01T00:00:00Z"}, "comment: Field required"),
    ({"model": "x", "severity": "sev1", "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}, "severity"),
    ({"provider": "**", "ends_at": "2099-01-01T00:00:00Z", "comment": "all of it"}, "'**' matches every name"),
    ({"slo": "*?", "ends_at": "2099-01-01T00:00:00Z", "comment": "all of it"}, "'*?' matches every name"),
    ({"model": "x", "starts_at": "9999-12-01T00:00:00Z", "ends_at": "9999-12-31T00:00:00Z", "comment": "c"},
     "more than 366 days ahead"),
    ({"model": "x", "starts_at": "0001-01-01T00:00:00+01:00", "ends_at": "0001-01-02T00:00:00Z", "comment": "c"},
     "between years 1 and 9999"),
])
async def test_a_bad_silence_gets_400_with_its_reason(api: Any, body: dict[str, Any], reason: str) -> None:
    answer = await api.post("/v1/silences", json=body, headers=ADMIN)
    assert answer.status == 400
    assert reason in json.dumps(await answer.json())


async def test_a_baseline_of_a_route_without_traffic_says_null(api: Any) -> None:
    answer = await api.get(f"/v1/slo/baseline?model=none-{uuid.uuid4().hex[:6]}&client=acme", headers=READER)
    assert answer.status == 200
    check_answer(api_document(), "/v1/slo/baseline", await answer.json())
    body = await answer.json()
    assert body["selector"]["client"] == "acme"
    assert all(period["rate"] is None and period["requests"] == 0 for period in body["error_rate"].values())
    assert body["latency"]["complete_ms"]["p99"] is None and body["suggestions"]["objective"]["value"] is None
