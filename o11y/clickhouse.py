"""One way to open ClickHouse for every component: `http://…` servers and `chdb:///path` alike."""

from __future__ import annotations

from typing import Any

import clickhouse_connect


def connect(url: str) -> Any:
    """A clickhouse-connect client; `chdb:///abs/path` runs the real engine in-process (one process per path)."""
    if url.startswith("chdb:"):
        return clickhouse_connect.get_client(dsn=url)
    return clickhouse_connect.get_client(dsn=url, compress="lz4", autogenerate_session_id=False)
