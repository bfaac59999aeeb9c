"""Backtest and baseline: 7 days × 500 routes of rollup data, against one tick's query measured in the same run.

The baseline of the backtest is what a replay costs one query per minute: (minutes replayed) × (the tick query's
time). The data: one request per route and minute at 0.05 % errors (quiet); two routes get 30 more a minute,
one failing 20 % for an hour and the other slow (40 s) for 20 minutes each day, so incidents open and resolve.

Usage: python bench/backtest_bench.py [--days 7] [--dimensions 500] [--per-minute 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerting.backtest.minutes import read_minutes, specs_of  # noqa: E402
from alerting.backtest.replay import compare, history_start, replay  # noqa: E402
from alerting.policy.baseline import Selector, read_baseline  # noqa: E402
from alerting.rules.window_query import build_query  # noqa: E402
from runtime.clickhouse import connect  # noqa: E402
from schemas.alert_policy import DEFAULT_POLICY, default_policy, policy_from_document  # noqa: E402
from storage.schema import migrate  # noqa: E402


def generate(client: object, start: datetime, minutes: int, dimensions: int, per_minute: int,
             routes: tuple[int, ...] = ()) -> int:
    """`per_minute` requests a minute on each route (on `routes` only, when given)."""
    count = len(routes) or dimensions
    rows = minutes * count * per_minute
    chunk = 2_000_000
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        minute = f"intDiv(n, {count * per_minute})"
        route = f"[{', '.join(map(str, routes))}][n % {count} + 1]" if routes else f"(n % {dimensions})"
        failing = f"({route} = 7 AND {minute} % 1440 BETWEEN 600 AND 660 AND intDiv(n, {count}) % 5 = 0)"
        slow = f"({route} = 11 AND {minute} % 1440 BETWEEN 900 AND 920)"
        client.command(  # type: ignore[attr-defined]
            "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
            " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
            " complete_request_ms, status_code, kafka_topic, kafka_partition, kafka_offset) "
            f"SELECT generateUUIDv4(), toDateTime64('{start:%Y-%m-%d %H:%M:%S}', 3, 'UTC') + toIntervalMillisecond("
            f"{minute} * 60000 + (n % {count * per_minute}) * 10), "
            "'kilo-gateway', 'user', false, true, false,"
            f" concat('provider-', toString({route} % 10)), 'm', concat('model-', toString({route})), [], [],"
            f" 40 + n % 300, if({slow}, 40000, 100 + (n * 7919) % 3000),"
            f" if({failing} OR cityHash64(n, {per_minute}) % 2000 = 0, 500, 200), 'bench', 0, n"
            f" FROM (SELECT number + {offset} AS n FROM numbers({n}))",
            settings={"max_insert_block_size": 1_000_000},
        )
    return rows


def median_time(action: object, runs: int) -> float:
    durations = []
    for _ in range(runs):
        started = time.monotonic()
        action()  # type: ignore[operator]
        durations.append(time.monotonic() - started)
    return statistics.median(durations)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--dimensions", type=int, default=500)
    parser.add_argument("--per-minute", type=int, default=1)
    args = parser.parse_args()
    client: Any = connect(f"chdb://{tempfile.mkdtemp(prefix='o11y-backtest-bench-')}")  # clickhouse-connect: query_np too
    migrate(client)
    policy = default_policy()
    start = datetime(2030, 3, 1, tzinfo=timezone.utc)
    minutes = args.days * 1440
    history = timedelta(minutes=360)
    began = time.monotonic()
    rows = generate(client, start - history, minutes + 360, args.dimensions, args.per_minute)
    rows += generate(client, start - history, minutes + 360, args.dimensions, 30, routes=(7, 11))
    print(f"generated {rows:,} events ({args.days} days + 6 h × {args.dimensions} routes) in {time.monotonic() - began:.0f} s",
          flush=True)
    end = start + timedelta(minutes=minutes)

    tick = median_time(lambda: client.query(build_query(policy, end)), 5)
    baseline_s = median_time(lambda: read_baseline(client, policy, Selector("model-7"), end), 5)

    began = time.monotonic()
    data = read_minutes(client, specs_of(policy), history_start(start, policy), end)
    read_s = time.monotonic() - began
    current = replay(data, policy, [], start, end)
    total_s = read_s + current.seconds

    candidate = policy_from_document({**DEFAULT_POLICY, "overrides": [
        {"match": {"model": "model-7", "slo": "error_rate"}, "objective": "0.5", "windows": [
            {"severity": "page", "long_minutes": 5, "short_minutes": 1, "burn_rate": "1.5"}]}]})
    began = time.monotonic()
    both = read_minutes(client, specs_of(policy, candidate), history_start(start, policy, candidate), end)
    other = replay(both, candidate, [], start, end, "candidate")
    with_candidate_s = time.monotonic() - began + current.seconds
    diff = compare(current, other)

    per_minute_queries = tick * minutes
    result = {
        "routes": len(data.routes), "minutes": minutes, "events": rows,
        "tick_query_s": round(tick, 4),
        "one_query_per_minute_s": round(per_minute_queries, 1),
        "backtest_read_s": round(read_s, 2), "backtest_replay_s": round(current.seconds, 2),
        "backtest_total_s": round(total_s, 2),
        "backtest_vs_baseline": round(total_s / per_minute_queries, 4),
        "backtest_with_candidate_s": round(with_candidate_s, 2),
        "incidents": len(current.spans), "candidate_incidents": len(other.spans),
        "difference": {k: len(v) for k, v in diff.items()},
        "baseline_query_s": round(baseline_s, 3),
        "baseline_vs_tick_query": round(baseline_s / tick, 2),
    }
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results" / "backtest.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
