"""Running a real loader (tansu → chDB) on a thread for the duration of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer
from prometheus_client import CollectorRegistry

from ingest.kafka.confluent_consumer import ConfluentConsumer
from ingest.kafka.kafka_python_consumer import KafkaPythonConsumer
from ingest.kafka.ports import Consumer, Partition, RebalanceListener
from ingest.loading.loader import Loader
from ingest.loading.service import build_loader, consumer_config
from runtime.clickhouse import ClickHouseClient
from runtime.settings import Settings
from schemas.event_kinds import Kind
from schemas.event_message import REQUESTS


def loader_settings(servers: str, topic: str, group: str, **extra: Any) -> Settings:
    return Settings(
        kafka_bootstrap_servers=servers,
        kafka_topic=topic,
        loader_group_id=group,
        loader_session_timeout_ms=6000,
        loader_batch_ms=200,
        **extra,
    )


class _Killable(KafkaConsumer):  # type: ignore[misc]  # kafka-python ships no types
    def kill(self) -> None:
        """Gone the way SIGKILL leaves: the connections drop, no LeaveGroup, no commit. The group notices only when
        the session times out. (kafka-python has no public call for this: its network loop is closed.)"""
        self._client.close()  # the network loop, which also runs the heartbeat


class Crashable(KafkaPythonConsumer):
    """The loader's real group member; `crash` leaves the group the way a killed process does, committing nothing."""

    def __init__(self, settings: Settings) -> None:
        self._killable = _Killable(**consumer_config(settings))
        super().__init__(self._killable)

    def crash(self) -> None:
        self.close(autocommit=False)

    def kill(self) -> None:
        self._killable.kill()


class DiesBeforeEveryCommit(Crashable):
    """...in a process that "dies" after each insert, before its commit: no offset ever reaches the broker."""

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        return None


def dies_before_every_commit(settings: Settings) -> DiesBeforeEveryCommit:
    return DiesBeforeEveryCommit(settings)


class ConfluentCrashable(ConfluentConsumer):
    """The same on confluent-kafka: `crash` leaves the group committing nothing; `kill` leaves it committing nothing
    and never calling its loader back.

    A process killed for real stops heartbeating and the group drops it at the session timeout. In-process, a
    librdkafka handle cannot be made to stop heartbeating short of closing it, and a member left heartbeating
    without polling stalled the group for good when it was killed mid-rebalance (its assignment waiting for a poll
    that never comes; max.poll.interval.ms does not drop it then). So `kill` closes the handle, which tells the group
    at once; whoever kills it lets the insert in flight end first, as the session timeout would."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._killed = threading.Event()

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        super().subscribe(topics, None if listener is None else _UnlessKilled(listener, self._killed))

    def crash(self) -> None:
        self.close(autocommit=False)

    def kill(self) -> None:
        self._killed.set()
        self.close(autocommit=False)


class _UnlessKilled:
    """A rebalance listener that goes quiet once its member was killed."""

    def __init__(self, listener: RebalanceListener, killed: threading.Event) -> None:
        self._listener, self._killed = listener, killed

    def on_partitions_assigned(self, assigned: set[Partition]) -> None:
        if not self._killed.is_set():
            self._listener.on_partitions_assigned(assigned)

    def on_partitions_revoked(self, revoked: set[Partition]) -> None:
        if not self._killed.is_set():
            self._listener.on_partitions_revoked(revoked)


def crashable(settings: Settings) -> Crashable | ConfluentCrashable:
    if settings.kafka_client == "confluent-kafka":
        return ConfluentCrashable(settings)
    return Crashable(settings)


@contextmanager
def running_loader(settings: Settings, clickhouse: ClickHouseClient, registry: CollectorRegistry | None = None,
                   consumer: Consumer | None = None, kind: Kind = REQUESTS) -> Iterator[Loader]:
    """The loader of one event type (by default the requests') on a thread."""
    loader = build_loader(settings, clickhouse, registry or CollectorRegistry(), consumer, kind)
    stop = threading.Event()
    thread = threading.Thread(target=loader.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield loader
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the loader did not stop"


def count(clickhouse: ClickHouseClient, sql: str, **parameters: Any) -> int:
    return int(clickhouse.query(sql, parameters=parameters).result_rows[0][0])
