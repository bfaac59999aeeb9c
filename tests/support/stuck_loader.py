"""`o11y load` in a process of its own whose ClickHouse stops answering the loader's loop.

The loop positions assigned partitions by asking ClickHouse what it already holds; here that question never gets an
answer, while the Kafka client's own threads go on heartbeating. Run as `python -m support.stuck_loader` (with
`tests` on the path) and the same environment as `o11y load`; it exits with `o11y load`'s status.
"""

from __future__ import annotations

import sys

from prometheus_client import CollectorRegistry

from ingest.loading.service import LOADER_STOPPED, create_loader_app
from o11y.serve import run_http
from runtime.clickhouse import connect
from runtime.logs import configure_logging
from runtime.settings import Settings
from support.held_clickhouse import HeldCalls


def main() -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    # The question about the loaded offsets never comes back.
    unanswered = HeldCalls(connect(settings.clickhouse_url or ""),
                           lambda call, what: call == "query" and "o11y.loaded_offsets" in what)
    app = create_loader_app(settings, unanswered, CollectorRegistry())
    run_http(settings, app, None, 30)
    return 1 if app[LOADER_STOPPED] else 0


if __name__ == "__main__":
    sys.exit(main())
