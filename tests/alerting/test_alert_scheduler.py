"""The APScheduler job: runs on its trigger, never overlaps itself, and survives a failing tick."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from prometheus_client import CollectorRegistry

from alerting.service.metrics import AlertMetrics
from alerting.service.scheduler import TICK_SECOND, LeasedTicks, build_scheduler
from support.waiting import wait_until


class SlowEvaluator:
    """Takes longer than the trigger interval; fails on its second run."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self.calls: list[datetime] = []
        self._lock = threading.Lock()

    def evaluate_tick(self, now: datetime) -> list[Any]:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.calls.append(now)
        time.sleep(1.5)
        with self._lock:
            self.running -= 1
        if len(self.calls) == 2:
            raise RuntimeError("one bad tick")
        return []


def test_the_default_trigger_is_every_minute_a_few_seconds_after_it(redis_client: Any) -> None:
    scheduler = build_scheduler(LeasedTicks(SlowEvaluator(), redis_client, AlertMetrics.create(CollectorRegistry())))
    [job] = scheduler.get_jobs()
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["second"], fields["minute"]) == (str(TICK_SECOND), "*")
    assert job.max_instances == 1 and job.coalesce is True


def test_runs_never_overlap_and_a_failing_tick_does_not_stop_the_schedule(redis_client: Any) -> None:
    evaluator = SlowEvaluator()

    class EverySecond:
        def run(self, now: datetime) -> list[Any]:
            return evaluator.evaluate_tick(now)

    scheduler = build_scheduler(EverySecond(), CronTrigger(second="*", timezone=timezone.utc))
    scheduler.start()
    try:
        assert wait_until(lambda: len(evaluator.calls) >= 3, timeout_s=20)
    finally:
        scheduler.shutdown(wait=True)
    assert evaluator.most_at_once == 1


async def test_readyz_of_the_alert_process_says_whether_the_stale_data_guard_works(
    aiohttp_client: Any, clickhouse: Any, redis_server: Any, slack: Any
) -> None:
    from pydantic import SecretStr

    from alerting.service.app import create_alert_app
    from alerting.service.senders import build_sender
    from runtime.settings import Settings
    from schemas.alert_policy import default_policy
    from support.alerting_harness import forget_alert_state

    forget_alert_state(clickhouse)
    settings = Settings(redis_url=redis_server.url, kafka_topic="no-loader-ever-ran",
                        slack_page_webhook_url=SecretStr(slack.url("page")),
                        slack_ticket_webhook_url=SecretStr(slack.url("ticket")))
    app = create_alert_app(settings, default_policy(), clickhouse, build_sender(settings, default_policy()), CollectorRegistry())
    client = await aiohttp_client(app)
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 200 and body["components"] == {"redis": "ok", "clickhouse": "ok"}
    assert body["notes"]["data"].startswith("inactive: no loader progress recorded")
