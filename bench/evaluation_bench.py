"""Evaluation tick: 6 hours at 1,000 events/s over 500 dimensions (21.6 M rows), rollup vs raw table, the default
policy (error rate, time to first token, generation speed) against the seed's (error rate, complete-time p50 and p90)
in the same run.

The tick's query alone (rollup against raw table), then whole ticks through the evaluator (the production factory,
claims in the process): the data burns every SLO of both policies on every route (1 % errors; streamed answers whose
first token is uniform up to 150 s, median 75 s; about 100 ms per output token; complete times past 5 and 30 s), so the
first tick opens an incident per route and SLO and the next ones keep them open — the heaviest a tick gets.

Usage: python bench/evaluation_bench.py [--rate 1000] [--hours 6] [--dimensions 500] [--runs 5]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry  # noqa: E402

from alerting.rules.window_query import build_query, parse_rows, window_end  # noqa: E402
from alerting.service.metrics import AlertMetrics  # noqa: E402
from alerting.service.scheduler import build_evaluator  # noqa: E402
from runtime.clickhouse import connect  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from schemas.alert_policy import AlertPolicy, default_policy, seed_policy  # noqa: E402
from storage.alerting import ALERT_EVENTS, ALERT_TICKS, INCIDENTS  # noqa: E402
from storage.schema import migrate  # noqa: E402

POLICIES = {"default": default_policy(), "seed": seed_policy()}


def generate(client: object, start: datetime, rows: int, seconds: int, dimensions: int) -> float:
    started = time.monotonic()
    chunk = 2_000_000
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        client.command(  # type: ignore[attr-defined]
            "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
            " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
            " complete_request_ms, status_code, output_tokens, kafka_topic, kafka_partition, kafka_offset) "
            f"SELECT generateUUIDv4(), toDateTime64('{start:%Y-%m-%d %H:%M:%S}', 3, 'UTC')"
            f" + toIntervalMillisecond(intDiv(n * {seconds * 1000}, {rows})), "
            f" concat('client-', toString(n % {dimensions} % 5)), 'user', false, true, n % 17 = 0,"
            f" concat('provider-', toString(n % {dimensions} % 10)), 'm', concat('model-', toString(n % {dimensions})),"
            " [], [], 40 + (n * 104729) % 150000, 100 + (n * 7919) % 20000 + (n * 104729) % 150000, if(n % 97 = 0, 500, 200),"
            " 1 + (n * 31) % 200, 'bench', 0, n"
            f" FROM (SELECT number + {offset} AS n FROM numbers({n}))",
            settings={"max_insert_block_size": 1_000_000},
        )
    return time.monotonic() - started


def timed(client: object, policy: AlertPolicy, sql: str, runs: int) -> tuple[float, int]:
    durations, rows = [], 0
    for _ in range(runs):
        started = time.monotonic()
        result = client.query(sql)  # type: ignore[attr-defined]
        parse_rows(policy, list(result.column_names), result.result_rows)
        durations.append(time.monotonic() - started)
        rows = len(result.result_rows)
    return statistics.median(durations), rows


class Silent:
    """Slack that takes every message at once: the tick's own work is what is measured."""

    def deliver(self, messages: list[tuple[str, dict[str, object]]]) -> list[str]:
        return ["delivered"] * len(messages)


def whole_ticks(client: object, policy: AlertPolicy, topic: str, now: datetime, runs: int) -> tuple[float, float, int]:
    """(first tick, median of the next ones, incidents open): the production evaluator on chDB, claims in the process,
    from no judged minute and no incident (what another policy's run left would make its ticks judge nothing)."""
    for table in (INCIDENTS, ALERT_TICKS, ALERT_EVENTS):
        client.command(f"TRUNCATE TABLE {table}")  # type: ignore[attr-defined]
    evaluator = build_evaluator(Settings(kafka_topic=topic), policy, client, None, Silent(),  # type: ignore[arg-type]
                                AlertMetrics.create(CollectorRegistry()))
    started = time.monotonic()
    evaluator.evaluate_tick(now - timedelta(minutes=runs))
    first = time.monotonic() - started
    durations = []
    for i in range(runs - 1, -1, -1):
        started = time.monotonic()
        evaluator.evaluate_tick(now - timedelta(minutes=i))
        durations.append(time.monotonic() - started)
    status = evaluator.status
    return first, statistics.median(durations), sum(status.open_incidents.values()) if status else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--dimensions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    seconds = args.hours * 3600
    rows = args.rate * seconds
    now = datetime.now(timezone.utc).replace(second=5, microsecond=0)
    start = now.replace(second=0) - timedelta(seconds=seconds)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # chDB may still be merging parts
        client = connect(f"chdb://{tmp}/ch")
        migrate(client)
        generate_s = generate(client, start, rows, seconds, args.dimensions)
        client.command("OPTIMIZE TABLE o11y.api_metrics_1m FINAL")
        rollup_rows = client.query("SELECT count() FROM o11y.api_metrics_1m").result_rows[0][0]
        results: dict[str, object] = {"raw_rows": rows, "rollup_rows": rollup_rows, "generate_s": round(generate_s, 1)}
        for name, policy in POLICIES.items():
            rollup_s, dims = timed(client, policy, build_query(policy, window_end(now)), args.runs)
            raw_s, raw_dims = timed(client, policy, build_query(policy, window_end(now), raw=True), args.runs)
            assert dims == raw_dims == args.dimensions
            first_s, steady_s, incidents = whole_ticks(client, policy, f"bench-{name}", now, args.runs)
            results[name] = {
                "slos": [slo.name for slo in policy.slos], "dimensions": dims, "tick_rollup_s": round(rollup_s, 3),
                "tick_raw_s": round(raw_s, 3), "speedup_rollup_vs_raw": round(raw_s / rollup_s, 1),
                "whole_tick_opening_s": round(first_s, 3), "whole_tick_steady_s": round(steady_s, 3),
                "open_incidents": incidents,
            }
    out = ROOT / "bench" / "results" / "evaluation.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{rows:,} raw rows ({rollup_rows:,} rollup rows), {args.dimensions} dimensions")
    for name, found in results.items():
        if not isinstance(found, dict):
            continue
        print(f"{name} policy ({', '.join(found['slos'])}):")
        print(f"  one tick from the rollup    {found['tick_rollup_s'] * 1000:8.0f} ms (median of {args.runs})")
        print(f"  one tick from the raw table {found['tick_raw_s'] * 1000:8.0f} ms; rollup speedup "
              f"{found['speedup_rollup_vs_raw']}x")
        print(f"  whole tick, opening {found['open_incidents']} incidents {found['whole_tick_opening_s'] * 1000:6.0f} ms; "
              f"then keeping them open {found['whole_tick_steady_s'] * 1000:6.0f} ms")
    default, seed = results["default"], results["seed"]
    assert isinstance(default, dict) and isinstance(seed, dict)
    print(f"default vs seed policy: rollup query {default['tick_rollup_s'] / seed['tick_rollup_s']:.2f}x, "
          f"steady whole tick {default['whole_tick_steady_s'] / seed['whole_tick_steady_s']:.2f}x")


if __name__ == "__main__":
    main()
