"""Stale data is never good news: the loader's progress, the guard, and a frozen broker with a page open."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from alerting.evaluation.store import AlertStore
from alerting.rules.freshness import Freshness, PartitionProgress, ends_to_judge
from ingest.loading.progress import EndOffsets, progress_rows
from support.alerting_harness import make_evaluator
from support.events import seed_event
from support.kafka_io import produce
from support.loader_harness import loader_settings, running_loader
from support.waiting import wait_until

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def freshness(now: float, *reached: float | None) -> Freshness:
    parts = tuple(PartitionProgress(i, at(r) if r is not None else None, 0, at(now)) for i, r in enumerate(reached))
    return Freshness(parts, at(now), timedelta(seconds=120))


@pytest.mark.parametrize(
    "name, fresh, stale, ready",
    [
        ("no progress recorded: the guard is inactive and every minute may be judged", freshness(10.1), False, 10),
        ("loaded a second ago: fresh, and the last minute is complete", freshness(10.1, 10.08, 10.06), False, 10),
        (
            "one partition 90 s behind: fresh, but only minutes up to its watermark are judged",
            freshness(10.1, 10.05, 8.6),
            False,
            8,
        ),
        ("one partition 3 minutes behind: stale", freshness(10.1, 10.05, 7.1), True, 7),
        ("a partition that never caught up: stale", freshness(10.1, 10.05, None), True, 10),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_watermark_decides_what_may_be_judged(name: str, fresh: Freshness, stale: bool, ready: int) -> None:
    assert fresh.stale is stale
    if fresh.watermark is not None or not fresh.active:
        assert fresh.ready_end() == at(ready)


def test_minutes_missed_while_loading_lagged_are_judged_in_order_and_bounded() -> None:
    assert ends_to_judge(None, at(10), 10) == [at(10)]
    assert ends_to_judge(at(10), at(10), 10) == []
    assert ends_to_judge(at(7), at(10), 10) == [at(8), at(9), at(10)]
    assert ends_to_judge(at(0), at(30), 5) == [at(26), at(27), at(28), at(29), at(30)]


def test_progress_rows_say_caught_up_only_when_everything_the_broker_held_is_loaded() -> None:
    rows = progress_rows({0: 500, 1: 480, 2: 7}, {0: 500, 1: 500, 2: 7, 3: 9}, at(0))
    assert [(r.partition, r.reached_end_at, r.lag) for r in rows] == [(0, at(0), 0), (1, None, 20), (2, at(0), 0)]


def test_under_steady_traffic_the_watermark_is_when_the_broker_held_what_is_now_loaded() -> None:
    seen = EndOffsets()
    first = progress_rows({0: 100}, {0: 180}, at(0), seen)  # 80 behind: nothing reached yet
    second = progress_rows({0: 190}, {0: 260}, at(0.05), seen)  # behind again, but past what the broker held at 0
    third = progress_rows({0: 270}, {0: 330}, at(0.1), seen)
    assert [r.reached_end_at for r in first + second + third] == [None, at(0), at(0.05)]
    assert [r.lag for r in first + second + third] == [80, 70, 60]


def events_at(client: str, minute: datetime, count: int, bad: int) -> list[tuple[bytes, bytes]]:
    from schemas.api_metrics import ApiMetricsParams
    from schemas.event_message import encode_message, message_from_event, message_key

    out = []
    for i in range(count):
        event = ApiMetricsParams.model_validate(seed_event(kiloUserId=f"u{i}", statusCode=500 if i < bad else 200))
        message = message_from_event(event, client, minute + timedelta(milliseconds=i * 60_000 // count))
        out.append((message_key(message), encode_message(message)))
    return out


def sent_at(records: list[tuple[bytes, bytes]]) -> list[int]:
    """Kafka timestamps as ingest would have produced them: at each event's received_at."""
    import json

    return [int(datetime.fromisoformat(json.loads(value)["received_at"]).timestamp() * 1000) for _, value in records]


def test_a_frozen_broker_is_stale_data_not_recovery(
    kafka: Any, topic: str, clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    now = datetime.now(timezone.utc)
    minute = now.replace(second=0, microsecond=0)
    burst = [m for k in range(10, 5, -1) for m in events_at("kilo-gateway", minute - timedelta(minutes=k), 100, 30)]
    produce(kafka.bootstrap_servers, topic, burst, timestamps_ms=sent_at(burst))
    store = AlertStore(clickhouse, topic)

    def loaded_past(when: datetime) -> bool:
        watermark = Freshness(tuple(store.progress()), when, timedelta(seconds=5)).watermark
        return watermark is not None and watermark > when

    evaluator = make_evaluator(clickhouse, redis_client, slack, kafka_topic=topic, alert_stale_after_s=5, alert_data_wait_s=5)
    with running_loader(loader_settings(kafka.bootstrap_servers, topic, f"g-{topic}"), clickhouse):
        assert wait_until(lambda: loaded_past(datetime.now(timezone.utc) - timedelta(seconds=1)), timeout_s=60)
        opened = evaluator.evaluate_tick(minute - timedelta(minutes=5) + timedelta(seconds=5))
        assert ("delivered", "page") in [(d.decision, d.severity) for d in opened]

        kafka.pause()
        try:
            frozen_at = datetime.now(timezone.utc)
            assert wait_until(lambda: datetime.now(timezone.utc) - frozen_at > timedelta(seconds=8), timeout_s=20)
            blind = evaluator.evaluate_tick(datetime.now(timezone.utc))
            still = evaluator.evaluate_tick(datetime.now(timezone.utc))  # stale still: no second stale page
        finally:
            kafka.resume()
        # Judged, the empty minutes since the burst would have resolved the page: stale data resolves nothing.
        assert [(d.decision, d.slo) for d in blind if d.decision != "dry_run"] == [
            ("stale", "data_stale"),
            ("fired", "data_stale"),
            ("delivered", "data_stale"),
        ]
        assert [h for _, h in slack.headers()] == [
            ":rotating_light: PAGE — LLM Error Rate SLO Breach",
            ":warning: PAGE — o11y data is stale: SLOs cannot be judged",
        ]
        assert f"`{topic}`" in slack.posts[1][1]["blocks"][1]["text"]["text"]
        assert [d.decision for d in still] == ["stale"]

        resumed = datetime.now(timezone.utc)  # the errors went on while the broker was frozen, up to now
        later = [minute - timedelta(minutes=5) + timedelta(minutes=k) for k in range(20)]
        more = [m for t in later if t + timedelta(minutes=1) <= resumed for m in events_at("kilo-gateway", t, 100, 30)]
        produce(kafka.bootstrap_servers, topic, more, timestamps_ms=sent_at(more))
        assert wait_until(lambda: loaded_past(resumed + timedelta(seconds=3)), timeout_s=60)
        fresh = evaluator.evaluate_tick(resumed + timedelta(seconds=3))
    assert ("resolved", "data_stale") in [(d.decision, d.slo) for d in fresh]
    assert not any(d.decision == "resolved" and d.slo == "error_rate" for d in fresh), "the errors go on: the page stays open"
    assert [h for _, h in slack.headers()][2:] == [":white_check_mark: RESOLVED (PAGE) — o11y data is fresh again"]


CLIENTS = ["confluent-kafka", "kafka-python"]


def caught_up(store: AlertStore, partitions: int, since: datetime) -> bool:
    """Every partition recorded that it had loaded everything after `since`."""
    rows = store.progress()
    return len(rows) == partitions and all(p.reached_end_at is not None and p.reached_end_at > since for p in rows)


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_a_loader_restart_with_no_traffic_catches_up_idle_partitions_and_never_pages(
    kafka: Any, topic: str, clickhouse: Any, redis_client: Any, slack: Any, kafka_client: str
) -> None:
    """Events in one partition of three; the loader stops, stays away longer than the stale bound, and starts again
    with nothing new to read. Idle partitions (never fetched, or positioned at their commit) are caught up at once,
    so the first tick after the restart judges instead of paging "data stale"."""
    records = events_at("kilo-gateway", datetime.now(timezone.utc).replace(second=0, microsecond=0), 5, 0)[:1]
    produce(kafka.bootstrap_servers, topic, records, partitions=3, timestamps_ms=sent_at(records))
    store = AlertStore(clickhouse, topic)
    settings = loader_settings(kafka.bootstrap_servers, topic, f"g-{topic}", kafka_client=kafka_client)
    started = datetime.now(timezone.utc)
    with running_loader(settings, clickhouse):
        assert wait_until(lambda: caught_up(store, 3, started), timeout_s=60), store.progress()
    stopped = datetime.now(timezone.utc)
    assert wait_until(lambda: datetime.now(timezone.utc) - stopped > timedelta(seconds=6), timeout_s=20)
    evaluator = make_evaluator(clickhouse, redis_client, slack, kafka_topic=topic, alert_stale_after_s=5,
                               alert_data_wait_s=30)
    with running_loader(settings, clickhouse):
        decisions = evaluator.evaluate_tick(datetime.now(timezone.utc))
        assert caught_up(store, 3, stopped)
    assert [d.decision for d in decisions if d.slo == "data_stale"] == []
    assert not [h for _, h in slack.headers() if "stale" in h]  # (other tests' events in these minutes may page)


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_after_a_broker_freeze_the_stale_page_resolves_without_new_traffic(
    kafka: Any, topic: str, clickhouse: Any, redis_client: Any, slack: Any, kafka_client: str
) -> None:
    """The broker freezes longer than the group's session: data is stale and one page says so. It resumes and no
    gateway sends anything: the loader rejoins, catches its idle partitions up, and the stale page resolves within
    two ticks (it used to stay open until traffic came back)."""
    records = events_at("kilo-gateway", datetime.now(timezone.utc).replace(second=0, microsecond=0), 5, 0)[:2]
    produce(kafka.bootstrap_servers, topic, records, partitions=3, timestamps_ms=sent_at(records))
    store = AlertStore(clickhouse, topic)
    settings = loader_settings(kafka.bootstrap_servers, topic, f"g-{topic}", kafka_client=kafka_client)
    impatient = make_evaluator(clickhouse, redis_client, slack, kafka_topic=topic, alert_stale_after_s=5)
    evaluator = make_evaluator(clickhouse, redis_client, slack, kafka_topic=topic, alert_stale_after_s=5,
                               alert_data_wait_s=30, fresh_state=False)
    started = datetime.now(timezone.utc)
    with running_loader(settings, clickhouse):
        assert wait_until(lambda: caught_up(store, 3, started), timeout_s=60), store.progress()
        kafka.pause()
        try:
            frozen_at = datetime.now(timezone.utc)
            assert wait_until(lambda: datetime.now(timezone.utc) - frozen_at > timedelta(seconds=10), timeout_s=30)
            blind = impatient.evaluate_tick(datetime.now(timezone.utc))
        finally:
            kafka.resume()
        resumed = datetime.now(timezone.utc)
        first = evaluator.evaluate_tick(datetime.now(timezone.utc))
        wait_until(lambda: caught_up(store, 3, resumed), timeout_s=60)  # the minute until the next tick
        ticks = [first, evaluator.evaluate_tick(datetime.now(timezone.utc))]
        assert caught_up(store, 3, resumed)
    assert ("fired", "data_stale") in [(d.decision, d.slo) for d in blind]
    assert ("resolved", "data_stale") in [(d.decision, d.slo) for tick in ticks for d in tick]
    assert [h for _, h in slack.headers() if "o11y data" in h] == [
        ":warning: PAGE — o11y data is stale: SLOs cannot be judged",
        ":white_check_mark: RESOLVED (PAGE) — o11y data is fresh again"]
