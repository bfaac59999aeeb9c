"""`/v1/slo/status` and `o11y status`: state, burn and error budget left per SLO and route, by hand from the rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from alerting.incidents.silences import SilenceRequest
from alerting.incidents.slo_status import SloStatus
from alerting.policy.store import PolicyStore
from alerting.rules.burn_rate import WindowCount
from api.app import create_api_app
from api.status_api import load_status, status_table
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.alerting_harness import make_evaluator
from support.events import READ_TOKEN
from support.openapi_check import check_answer
from support.timeline import Timeline

READER = {"Authorization": f"Bearer {READ_TOKEN}"}


def test_state_budget_left_and_order(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    names = {k: f"{k}-{tag}" for k in ("healthy", "paging", "held", "early")}
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 100, model=names["healthy"])
    timeline.traffic(0, 50, 100, model=names["paging"])
    timeline.traffic(50, 60, 100, 0.2, model=names["paging"])          # 200 bad of 6,000
    timeline.traffic(0, 60, 200, 0.005, model=names["held"])           # 60 bad of 12,000: the ticket tier trips
    timeline.traffic(0, 1, 100, 0.2, model=names["early"])             # 20 bad of 6,000, all in the first minute
    timeline.traffic(1, 60, 100, model=names["early"])
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    PolicyStore(clickhouse).save_silence(
        SilenceRequest(model=names["held"], ends_at=timeline.at(120), comment="known").silence("alice", timeline.base),
        timeline.base)
    evaluator.evaluate_tick(timeline.at(60))

    settings = Settings(kafka_topic=f"status-{tag}")
    body = load_status(clickhouse, default_policy(), settings, timeline.at(60))
    ours = [s for s in body["statuses"] if s.dimension[1] in names.values() and s.slo == "error_rate"]
    by_model = {s.dimension[1]: s for s in ours}
    assert [s.dimension[1] for s in ours] == [names["paging"], names["held"], names["early"], names["healthy"]]
    assert {m: by_model[names[m]].state for m in names} == {
        "healthy": "ok", "paging": "incident", "held": "silenced", "early": "burning"}
    assert by_model[names["paging"]].budget_left == pytest.approx(1 - (200 / 6000) / 0.001)
    assert by_model[names["held"]].budget_left == pytest.approx(1 - 0.005 / 0.001)
    assert by_model[names["early"]].budget_left == pytest.approx(1 - (20 / 6000) / 0.001)
    assert by_model[names["healthy"]].budget_left == 1.0 and by_model[names["healthy"]].exhausted_in_hours is None
    assert by_model[names["early"]].exhausted_in_hours == 0.0  # already overspent
    ticket = {t.tier: t for t in by_model[names["early"]].tiers}["360m/30m"]
    assert ticket.burn_long == pytest.approx((20 / 6000) / 0.001) and ticket.burn_short == 0 and not ticket.trips
    assert by_model[names["paging"]].incident_id is not None
    shown = {**body, "statuses": [s.as_dict() for s in ours]}
    table = status_table(shown).splitlines()
    assert all(line.endswith("(budget left over the 60 min seen of 30 days)") for line in table[2:]), table
    ttft = [s for s in body["statuses"] if s.dimension[1] == names["healthy"] and s.slo == "time_to_first_token"]
    assert [(s.state, s.period.total, s.period.bad) for s in ttft] == [("ok", 60, 0)]  # 60 judged minutes, none bad
    speed = [s for s in body["statuses"] if s.dimension[1] == names["healthy"] and s.slo == "generation_speed"]
    assert [(s.period.total, s.period.bad) for s in speed] == [(0, 0)]  # no answer reported its tokens: none judged


def test_an_incident_that_paged_shows_silenced_while_a_silence_holds_it(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    model = f"paged-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 50, 100, model=model)
    timeline.traffic(50, 60, 100, 0.2, model=model)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    evaluator.evaluate_tick(timeline.at(60))
    assert [severity for severity, _ in slack.posts] == ["page"], "the incident paged before anyone silenced it"
    asked, settings, store = timeline.at(60, 30), Settings(kafka_topic=f"status-{model}"), PolicyStore(clickhouse)

    def state() -> tuple[str, str | None]:
        [found] = [s for s in load_status(clickhouse, default_policy(), settings, asked)["statuses"]
                   if s.dimension[1] == model and s.slo == "error_rate"]
        return found.state, found.incident_id

    before, incident = state()
    assert before == "incident" and incident is not None
    silence = SilenceRequest(model=model, ends_at=timeline.at(120), comment="on it").silence("alice", asked)
    store.save_silence(silence, asked)
    assert state() == ("silenced", incident), "silenced the moment the silence holds it, not at the next minute"
    store.save_silence(silence.expired("alice", asked), asked)
    assert state() == ("incident", incident)


END = datetime(2031, 3, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(("seen_for", "words"), [
    (timedelta(minutes=2), "over the 2 min seen of 30 days"),
    (timedelta(minutes=50), "over the 50 min seen of 30 days"),
    (timedelta(hours=2), "over the 2 h seen of 30 days"),
    (timedelta(hours=3, minutes=30), "over the 3.5 h seen of 30 days"),
    (timedelta(hours=30), "over the 30 h seen of 30 days"),
    (timedelta(days=4, hours=12), "over the 4.5 days seen of 30 days"),
    (timedelta(days=14), "over the 14 days seen of 30 days"),
    (timedelta(days=15), None),
    (timedelta(days=30), None),
], ids=lambda v: str(v))
def test_budget_left_says_how_little_of_the_period_a_new_route_has_seen(seen_for: timedelta, words: str | None) -> None:
    status = SloStatus("error_rate", ("openai", "m", "c"), "ok", "0.999", WindowCount(0, 10), 1.0, None, (), None,
                       END - seen_for)
    assert status.seen_words(END, 30) == words
    assert replace(status, seen_since=None).seen_words(END, 30) is None, "no traffic: nothing to say"


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any) -> AsyncIterator[Any]:
    settings = Settings(api_tokens={"dashboards": [SecretStr(READ_TOKEN)]})
    yield await aiohttp_client(create_api_app(settings, default_policy(), clickhouse, CollectorRegistry()))


async def test_status_over_http_filters_and_refuses_bad_parameters(api: Any, clickhouse: Any) -> None:
    model = f"now-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse, base=datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=30))
    timeline.traffic(0, 20, 50, model=model)
    answer = await api.get(f"/v1/slo/status?model={model}&slo=error_rate", headers=READER)
    assert answer.status == 200
    body = await answer.json()
    assert body["period_days"] == 30 and body["count"] == 1
    [status] = body["statuses"]
    assert (status["model"], status["state"], status["period_total"], status["budget_left"]) == (model, "ok", 1000, 1.0)
    assert status["seen_since"] == timeline.base.isoformat(), "its first minute with requests: budget_left judges 20 min"
    check_answer(await (await api.get("/openapi.json")).json(), "/v1/slo/status", body)
    for query in ("state=fine", "limit=0", "bogus=1"):
        assert (await api.get(f"/v1/slo/status?{query}", headers=READER)).status == 400
    assert (await api.get("/v1/slo/status")).status == 401
