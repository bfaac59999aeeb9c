"""`o11y load` in a process of its own whose ClickHouse stops answering the loader's loop.

The loop positions assigned partitions by asking ClickHouse what it already holds; here that question never gets an
answer, while the Kafka client's own threads go on heartbeating. Run as `python -m support.stuck_loader` (with
`tests` on the path) and the same environment as `o11y load`; it exits with `o11y load`'s status.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from prometheus_client import CollectorRegistry

from ingest.loader_service import LOADER_STOPPED, create_loader_app
from o11y.serve import run_http
from runtime.clickhouse import ClickHouseClient, connect
from runtime.logs import configure_logging
from runtime.settings import Settings


class Unanswered:
    """The real chDB behind a link on which a question about the loaded offsets never comes back."""

    def __init__(self, clickhouse: ClickHouseClient) -> None:
        self._clickhouse = clickhouse
        self._never = threading.Event()

    def query(self, query: str, parameters: Any = None, settings: Any = None) -> Any:
        if "o11y.loaded_offsets" in query:
            self._never.wait()
        return self._clickhouse.query(query, parameters=parameters, settings=settings)

    def raw_query(self, query: str, parameters: Any = None, settings: Any = None, fmt: str | None = None) -> bytes:
        return self._clickhouse.raw_query(query, parameters=parameters, settings=settings, fmt=fmt)

    def command(self, cmd: str, parameters: Any = None, settings: Any = None) -> Any:
        return self._clickhouse.command(cmd, parameters=parameters, settings=settings)

    def insert(self, table: str | None = None, data: Any = None, column_names: Any = None, settings: Any = None,
               context: Any = None) -> Any:
        return self._clickhouse.insert(table, data, column_names, settings=settings, context=context)

    def raw_insert(self, table: str, column_names: Any = None, insert_block: Any = None, settings: Any = None,
                   fmt: str | None = None) -> Any:
        return self._clickhouse.raw_insert(table, column_names, insert_block, settings, fmt)

    def create_insert_context(self, table: str, column_names: Any = None) -> Any:
        return self._clickhouse.create_insert_context(table, column_names)

    def close(self) -> None:
        self._clickhouse.close()


def main() -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    app = create_loader_app(settings, Unanswered(connect(settings.clickhouse_url or "")), CollectorRegistry())
    run_http(settings, app, None, 30)
    return 1 if app[LOADER_STOPPED] else 0


if __name__ == "__main__":
    sys.exit(main())
