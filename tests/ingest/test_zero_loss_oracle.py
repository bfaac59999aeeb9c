"""Zero-loss oracle: load with faults injected, then every acknowledged event is counted exactly once.

The load generator marks each event with a unique `kiloUserId` and records which ones got a 2xx
(the obligations). While it runs, two loaders share the topic: a second one joins mid-load, each is
killed once without a goodbye and started again, a range of the log is produced a second time (copies),
the raw table is detached, the broker frozen; then Redis stops and Slack fails during alert ticks.
Bounded: about a minute and a half.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis import Redis

from ingest.edge.app import create_app
from ingest.loading.loader import Loader
from ingest.loading.service import build_loader, for_type
from o11y.embedded import EmbeddedKafka, EmbeddedRedis
from runtime.settings import Settings
from schemas.alert_policy import DEFAULT_POLICY, policy_from_document
from schemas.event_kinds import Kind
from schemas.event_message import REQUESTS
from schemas.session_event import SESSIONS
from storage.catalog import RAW_TABLES
from support.alerting_harness import make_evaluator
from support.events import seed_event, session_event
from support.kafka_io import produce, read_topic
from support.live_server import LiveServer
from support.loader_harness import ConfluentCrashable, Crashable, count, crashable, loader_settings
from support.waiting import wait_until

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own

SECRET = "oracle-secret-value"
BAD_MODEL = "oracle/failing-model"


def request(marker: str, n: int) -> dict[str, Any]:
    """A request event marked by its user: a third on the failing model, half of those answered 500."""
    bad = n % 3 == 0
    return seed_event(clientSecret=..., kiloUserId=marker, resolvedModel=BAD_MODEL if bad else "oracle/healthy",
                      statusCode=500 if bad and n % 2 == 0 else 200)


def session(marker: str, n: int) -> dict[str, Any]:
    """A session event marked by its user: healthy, so that its sessions page no one (other tests judge real time)."""
    return session_event(clientSecret=..., kiloUserId=marker, sessionId=f"s-{marker}", toolErrorsByType={},
                         terminationReason="interrupted" if n % 5 == 0 else "completed")


@dataclass(frozen=True)
class Oracle:
    """One event type's side of the oracle: what is sent, where it lands, what its rollup counts."""

    kind: Kind
    event: Callable[[str, int], dict[str, Any]]
    rollup: str
    """The per-minute rollup's count of the client's events (`{client}` in the text)."""


REQUESTS_ORACLE = Oracle(REQUESTS, request, "SELECT sum(requests) FROM o11y.api_metrics_1m WHERE client_name = '{client}'")
SESSIONS_ORACLE = Oracle(SESSIONS, session,
                         "SELECT sum(sessions) FROM o11y.session_metrics_1m WHERE client_name = '{client}'")


class Load:
    """Concurrent senders; remembers every status per marker."""

    def __init__(self, url: str, oracle: Oracle = REQUESTS_ORACLE) -> None:
        self.url = f"{url}/ingest/{oracle.kind.name}"
        self.event = oracle.event
        self.statuses: dict[str, int] = {}
        self.stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {SECRET}"}) as session:
            await asyncio.gather(*(self._worker(session, w) for w in range(8)))

    async def _worker(self, session: aiohttp.ClientSession, worker: int) -> None:
        n = 0
        while not self.stop.is_set():
            marker = f"w{worker}-{n}"
            n += 1
            event = self.event(marker, n)
            try:
                async with session.post(self.url, json=event, timeout=aiohttp.ClientTimeout(total=10)) as response:
                    self.statuses[marker] = response.status
            except aiohttp.ClientError:
                self.statuses[marker] = -1
            await asyncio.sleep(0.002)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(30)


class LoaderThread:
    """A loader on a thread of its own; `kill` ends it the way SIGKILL ends a process: nothing flushed, nothing
    committed, no goodbye to the group (which notices at the session timeout)."""

    def __init__(self, settings: Settings, clickhouse: Any, kind: Kind = REQUESTS) -> None:
        consumer = crashable(for_type(settings, kind))
        self._loader = build_loader(settings, clickhouse, CollectorRegistry(), consumer, kind)
        self._stop, self._kill = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._loader, consumer), daemon=True)
        self._thread.start()

    def _run(self, loader: Loader, consumer: Crashable | ConfluentCrashable) -> None:
        loader.start()
        while not self._stop.is_set():
            if self._kill.is_set():
                if isinstance(consumer, ConfluentCrashable):  # it tells the group at once: the insert in flight first
                    loader.wait_for_insert(60)
                consumer.kill()  # from this thread: only it touches the consumer (kafka-python's is not thread-safe)
                return
            loader.step()
        loader.shutdown()

    def kill(self) -> None:
        self._kill.set()
        self._thread.join(60)
        assert not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        assert not self._thread.is_alive(), "the loader did not stop"


def exactly_once_through_faults(clickhouse: Any, kafka_client: str, oracle: Oracle) -> datetime:
    """Load with faults injected; every acknowledged event of the type is then stored exactly once, and its rollup
    counts what analysts count. Returns when the load ended."""
    name = oracle.kind.name
    topic, client = f"oracle-{name}-{kafka_client}", f"oracle-gateway-{name}-{kafka_client}"  # each run's rows its own
    raw = str(RAW_TABLES[name])
    with EmbeddedKafka() as kafka:
        servers = kafka.bootstrap_servers
        requests = oracle.kind is REQUESTS  # the type's topic is `topic`, the other's another
        ingest_settings = Settings(kafka_bootstrap_servers=servers, kafka_ack_timeout_ms=1500,
                                   kafka_topic=topic if requests else f"{topic}-requests",
                                   kafka_session_topic=f"{topic}-sessions" if requests else topic,
                                   client_secrets={client: [SecretStr(SECRET)]})
        settings = loader_settings(servers, topic, "oracle-loader", kafka_client=kafka_client,
                                   loader_max_poll_interval_ms=10_000, kafka_session_topic=topic)
        with LiveServer(lambda: create_app(ingest_settings)) as ingest, Load(ingest.url, oracle) as load:
            first = LoaderThread(settings, clickhouse, oracle.kind)
            time.sleep(3)
            second = LoaderThread(settings, clickhouse, oracle.kind)  # fault 1: a second loader joins: a rebalance
            time.sleep(4)
            first.kill()                                      # fault 2: a loader killed (its partitions move at the
            first = LoaderThread(settings, clickhouse, oracle.kind)  # session timeout) and started again
            time.sleep(3)
            copies = read_topic(servers, topic, 300)[:300]    # fault 3: a range of the log is produced once more
            produce(servers, topic, [(m.key, m.value) for m in copies])
            time.sleep(3)
            clickhouse.command(f"DETACH TABLE {raw}")          # fault 4: ClickHouse inserts fail
            time.sleep(3)
            clickhouse.command(f"ATTACH TABLE {raw}")
            second.kill()                                     # fault 5: the other loader killed, and started again
            second = LoaderThread(settings, clickhouse, oracle.kind)
            time.sleep(3)
            kafka.pause()                                     # fault 6: the broker stops answering
            time.sleep(3)
            kafka.resume()
            time.sleep(4)
        load_ended = datetime.now(timezone.utc)
        statuses = Counter(load.statuses.values())
        acked = {m for m, s in load.statuses.items() if s == 204}
        assert set(statuses) <= {204, 503}, statuses          # valid input never got another 5xx
        assert statuses[503] > 0 and len(acked) > 500, statuses

        markers = f"SELECT kilo_user_id, count() FROM {raw} WHERE kafka_topic = '{topic}' GROUP BY kilo_user_id"
        if not wait_until(lambda: acked <= {r[0] for r in clickhouse.query(markers).result_rows}, timeout_s=60):
            missing = acked - {r[0] for r in clickhouse.query(markers).result_rows}
            logged = read_topic(servers, topic, len(acked))
            in_log = {json.loads(m.value)["kilo_user_id"]: (m.partition, m.offset) for m in logged}
            where = sorted(in_log.get(m, (-1, -1)) for m in missing)
            loaded = clickhouse.query(f"SELECT kafka_partition, max(kafka_offset), count() FROM {raw} "
                                      f"WHERE kafka_topic = '{topic}' GROUP BY kafka_partition ORDER BY 1").result_rows
            raise AssertionError(f"{len(missing)} acknowledged events not loaded, at {where[:5]}..{where[-5:]}; "
                                 f"loaded per partition {loaded}")
        first.stop()
        second.stop()
        stored = dict(clickhouse.query(markers).result_rows)
        assert {m for m in acked if stored.get(m) != 1} == set(), "every acknowledged event exactly once"
        assert set(stored) <= set(load.statuses), "nothing appears that was never sent"
        assert all(n == 1 for n in stored.values()), "nothing appears twice"
        rollup = count(clickhouse, oracle.rollup.format(client=client))
        assert rollup == len(stored), "the evaluator counts what analysts count"
    return load_ended


def test_every_acknowledged_session_is_counted_exactly_once_through_faults(clickhouse: Any) -> None:
    """The same faults, through the same edge and loader, for the second event type."""
    exactly_once_through_faults(clickhouse, "confluent-kafka", SESSIONS_ORACLE)


@pytest.mark.parametrize("kafka_client", ["kafka-python", "confluent-kafka"])
def test_every_acknowledged_event_is_counted_exactly_once_through_faults(clickhouse: Any, slack: Any,
                                                                         kafka_client: Any) -> None:
    load_ended = exactly_once_through_faults(clickhouse, kafka_client, REQUESTS_ORACLE)
    client = f"oracle-gateway-{REQUESTS.name}-{kafka_client}"

    # Alerting through faults: Redis down and Slack failing; the page still goes out, exactly once.
    policy = policy_from_document({**DEFAULT_POLICY, "page_clients": [client]})
    redis_server = EmbeddedRedis().start()
    redis = Redis.from_url(redis_server.url, socket_timeout=1, socket_connect_timeout=1)
    evaluator = make_evaluator(clickhouse, redis, slack, policy=policy)
    redis_server.stop()
    slack.failures = [500, 429]
    last_loaded = load_ended - timedelta(seconds=2)  # a minute holding at least 2 s of the load
    first_minute = last_loaded.replace(second=5, microsecond=0) + timedelta(minutes=1)
    decisions = evaluator.evaluate_tick(first_minute)
    restarted = EmbeddedRedis(port=redis_server.port).start()
    try:
        decisions += evaluator.evaluate_tick(first_minute + timedelta(minutes=1))
    finally:
        restarted.stop()
    pages = [(s, b["text"]) for s, b in slack.posts if s == "page"]
    assert len(pages) == 1 and BAD_MODEL in pages[0][1], json.dumps([d.as_dict() for d in decisions])[:2000]
