"""Running a real loader (tansu → chDB) on a thread for the duration of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from ingest.loader import Loader
from ingest.loader_service import build_loader
from runtime.settings import Settings


def loader_settings(servers: str, topic: str, group: str, **extra: Any) -> Settings:
    return Settings(
        kafka_bootstrap_servers=servers,
        kafka_topic=topic,
        loader_group_id=group,
        loader_session_timeout_ms=6000,
        loader_batch_ms=200,
        **extra,
    )


@contextmanager
def running_loader(settings: Settings, clickhouse: Any, registry: CollectorRegistry | None = None,
                   prepare: Any = None) -> Iterator[Loader]:
    loader = build_loader(settings, clickhouse, registry or CollectorRegistry())
    if prepare is not None:
        prepare(loader)
    stop = threading.Event()
    thread = threading.Thread(target=loader.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield loader
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the loader did not stop"


def count(clickhouse: Any, sql: str, **parameters: Any) -> int:
    return int(clickhouse.query(sql, parameters=parameters).result_rows[0][0])
