"""One backtest over stored data: the policy in force (its file and the runtime overrides) and a candidate beside it.

The single entry of `o11y slo backtest` (straight to ClickHouse) and `POST /v1/slo/backtest` (through the running API),
so both have the same limits: at most MAX_DAYS, the end at least a minute after the start, whole minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from alerting.backtest.minutes import MinuteSource, read_minutes, specs_of
from alerting.backtest.replay import compare, history_start, replay
from alerting.backtest.report import report_dict
from alerting.policy.store import PolicyStore
from alerting.rules.window_query import window_end
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy

MAX_DAYS = 31


class BacktestSource(ClickHouseClient, MinuteSource, Protocol):
    """A ClickHouse client that also answers as numpy arrays (clickhouse-connect's clients do)."""


def backtest_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) in whole minutes, or a ValueError that says which limit it breaks."""
    first, last = window_end(start), window_end(end)
    if last <= first:
        raise ValueError("to must be at least a minute after from")
    if last - first > timedelta(days=MAX_DAYS):
        raise ValueError(f"a backtest covers at most {MAX_DAYS} days")
    return first, last


def run_backtest(client: BacktestSource, current: AlertPolicy, candidate: AlertPolicy | None, start: datetime,
                 end: datetime, progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """`report_dict` of replaying [start, end) with `current` (and `candidate`), runtime overrides and silences applied."""
    first, last = backtest_range(start, end)
    store = PolicyStore(client)
    live, _ = store.overrides()
    current, _ = current.with_live(live)
    if candidate is not None:
        candidate, _ = candidate.with_live(live)
    policies = [current] + ([candidate] if candidate is not None else [])
    silences = store.silences(ended_after=history_start(first, *policies))
    minutes = read_minutes(client, specs_of(*policies), history_start(first, *policies), last)
    base = replay(minutes, current, silences, first, last, "current", progress)
    other = replay(minutes, candidate, silences, first, last, "candidate", progress) if candidate is not None else None
    return report_dict(base, other, compare(base, other) if other is not None else None)
