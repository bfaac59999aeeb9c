"""One way to open ClickHouse for every component: `http://…` servers and `chdb:///path` alike."""

from __future__ import annotations

from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import clickhouse_connect


class ClickHouseClient(Protocol):
    """The part of clickhouse-connect's client that o11y uses; a ClickHouse server and chDB answer alike."""

    def query(self, query: str, parameters: Any = None, settings: Any = None) -> Any: ...
    def raw_query(self, query: str, parameters: Any = None, settings: Any = None, fmt: str | None = None) -> bytes: ...
    def command(self, cmd: str, parameters: Any = None, settings: Any = None) -> Any: ...
    def insert(self, table: str | None = None, data: Any = None, column_names: Any = None, settings: Any = None,
               context: Any = None) -> Any: ...
    def raw_insert(self, table: str, column_names: Any = None, insert_block: Any = None, settings: Any = None,
                   fmt: str | None = None) -> Any: ...
    def create_insert_context(self, table: str, column_names: Any = None) -> Any: ...
    def close(self) -> None: ...


class RawClient(Protocol):
    """Answers in ClickHouse's own formats, whole or streamed: the read API's SQL and export (a client of their own each)."""

    def raw_query(self, query: str, parameters: Any = None, settings: Any = None, fmt: str | None = None) -> bytes: ...
    def raw_stream(self, query: str, parameters: Any = None, settings: Any = None, fmt: str | None = None) -> Any: ...
    def close(self) -> None: ...


def connect_raw(url: str) -> RawClient:
    """Another client of the same ClickHouse (with chDB: another handle of this process's engine)."""
    return cast(RawClient, connect(url))


class ClickHouseUnavailable(Exception):
    """ClickHouse cannot be opened; the message is one line an operator can act on."""


def connect(url: str) -> ClickHouseClient:
    """A clickhouse-connect client; `chdb:///abs/path` runs the real engine in-process (one process per path)."""
    if url.startswith("chdb:"):
        try:
            return cast(ClickHouseClient, clickhouse_connect.get_client(dsn=url))
        except Exception as err:
            path = url.split("://", 1)[-1] or url
            if "Unable to open the chdb engine" in str(err):
                raise ClickHouseUnavailable(
                    f"the ClickHouse data at {path} is in use by another o11y process (o11y dev?)") from err
            raise ClickHouseUnavailable(f"cannot open the ClickHouse data at {path}: {type(err).__name__}") from err
    try:
        return cast(ClickHouseClient, clickhouse_connect.get_client(dsn=url, compress="lz4", autogenerate_session_id=False))
    except Exception as err:
        where = urlsplit(url)
        raise ClickHouseUnavailable(
            f"cannot reach ClickHouse at {where.hostname}:{where.port or 8123} ({type(err).__name__})") from err
