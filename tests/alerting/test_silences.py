"""Silences hold notifications back, are logged with their id, and let the page out when they end while it still trips."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from alerting.incidents.silences import SilenceRequest
from alerting.policy.store import PolicyStore
from support.alerting_harness import make_evaluator
from support.timeline import Timeline


def test_a_silence_holds_the_page_is_logged_and_the_page_goes_out_when_it_ends(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    model = f"maintained-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 30, 200, 0.05, model=model)
    timeline.traffic(0, 30, 200, 0.05, model="gpt-4")  # another route, not silenced
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    store = PolicyStore(clickhouse)
    silence = SilenceRequest(model=model, starts_at=timeline.base, ends_at=timeline.base + timedelta(minutes=10),
                             comment="provider maintenance").silence("alice", timeline.base)
    store.save_silence(silence, timeline.base)

    by_tick = {m: evaluator.evaluate_tick(timeline.at(m)) for m in range(6, 12)}

    silenced = [m for m, ds in by_tick.items() for d in ds if d.decision == "silenced"]
    assert silenced == [6, 7, 8, 9]  # the silence ends at minute 10 (exclusive)
    held = next(d for d in by_tick[6] if d.decision == "silenced")
    assert (held.model, held.silence_id, held.severity) == (model, silence.id, "page")
    assert f"held back by silence {silence.id} by alice (provider maintenance)" in held.detail
    delivered = [(m, d.model) for m, ds in by_tick.items() for d in ds if d.decision == "delivered"]
    assert delivered == [(6, "gpt-4"), (10, model)]
    last = slack.posts[-1][1]
    assert f"Held back by silence {silence.id} by alice (provider maintenance) until {timeline.at(10):%H:%M} UTC" in str(last)

    logged = clickhouse.query(
        "SELECT toMinute(tick), silence_id FROM o11y.alert_events WHERE model = {m:String} AND decision = 'silenced' "
        "ORDER BY tick", parameters={"m": model}).result_rows
    assert [(minute, sid) for minute, sid in logged] == [((timeline.at(m).minute), silence.id) for m in range(6, 10)]


def test_an_expired_silence_stops_holding_at_the_next_tick(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    model = f"expired-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 20, 200, 0.05, model=model)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    store = PolicyStore(clickhouse)
    silence = SilenceRequest(model=model, starts_at=timeline.base, ends_at=timeline.base + timedelta(hours=2),
                             comment="known upstream incident").silence("alice", timeline.base)
    store.save_silence(silence, timeline.base)
    assert [d.decision for d in evaluator.evaluate_tick(timeline.at(6)) if d.model == model][-1] == "silenced"
    store.save_silence(silence.expired("bob", timeline.at(6)), timeline.at(6))
    assert store.silence(silence.id) is not None and store.silence(silence.id).state(timeline.at(7)) == "expired"  # type: ignore[union-attr]
    decisions = [d.decision for d in evaluator.evaluate_tick(timeline.at(7)) if d.model == model]
    assert "delivered" in decisions and "silenced" not in decisions
