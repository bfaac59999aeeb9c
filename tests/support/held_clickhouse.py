"""The real ClickHouse behind a link that holds (or refuses) some of its calls: a ClickHouse that hangs or is down for
some calls, without a fake."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from runtime.clickhouse import ClickHouseClient


class HeldCalls:
    """Passes every call on to `clickhouse`, after holding those `held(call, what)` picks (`call` is the method's
    name, `what` its table or SQL) until `release` is set, or `hold_s` passed (None: for good); with `refuse`, those
    calls fail at once as if ClickHouse were down. `stuck` is set once a call is held."""

    def __init__(self, clickhouse: ClickHouseClient, held: Callable[[str, str], bool], hold_s: float | None = None,
                 refuse: bool = False) -> None:
        self._clickhouse, self._held, self._hold_s, self._refuse = clickhouse, held, hold_s, refuse
        self.stuck = threading.Event()
        self.release = threading.Event()

    def _hold(self, call: str, what: str) -> None:
        if self._held(call, what):
            if self._refuse:
                raise ConnectionRefusedError(f"ClickHouse refused {call} (a test's link)")
            self.stuck.set()
            self.release.wait(self._hold_s)

    def query(self, query: str, parameters: Any = None, settings: Any = None) -> Any:
        self._hold("query", query)
        return self._clickhouse.query(query, parameters=parameters, settings=settings)

    def raw_query(self, query: str, parameters: Any = None, settings: Any = None, fmt: str | None = None) -> bytes:
        self._hold("raw_query", query)
        return self._clickhouse.raw_query(query, parameters=parameters, settings=settings, fmt=fmt)

    def command(self, cmd: str, parameters: Any = None, settings: Any = None) -> Any:
        self._hold("command", cmd)
        return self._clickhouse.command(cmd, parameters=parameters, settings=settings)

    def insert(self, table: str | None = None, data: Any = None, column_names: Any = None, settings: Any = None,
               context: Any = None) -> Any:
        self._hold("insert", table or "")
        return self._clickhouse.insert(table, data, column_names, settings=settings, context=context)

    def raw_insert(self, table: str, column_names: Any = None, insert_block: Any = None, settings: Any = None,
                   fmt: str | None = None) -> Any:
        self._hold("raw_insert", table)
        return self._clickhouse.raw_insert(table, column_names, insert_block, settings, fmt)

    def create_insert_context(self, table: str, column_names: Any = None) -> Any:
        return self._clickhouse.create_insert_context(table, column_names)

    def close(self) -> None:
        return None  # the client is its owner's to close
