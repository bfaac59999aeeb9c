"""The read API over 7 days × 500 routes: usage stats, SLO status and export, from a real `o11y api` process.

One request a minute per route (5 M events with tokens, 5,000 users), loaded through the raw table so that both
rollups fill as in production. Then `o11y api` runs as its own process on that chDB and is asked over HTTP:

- `/v1/usage/stats?group_by=model` over the 7 days (whole hours: the hourly rollup); its SQL alone, against the
  same question answered from the raw table alone, measured in the same run (the baseline);
- the same with minutes at both ends (rollup and raw), and grouped by user (only the raw table knows users);
- `/v1/usage/timeseries` by hour, and `/v1/slo/status` for every route (its first call waits for the read of the
  SLO period that `o11y api` starts with; later ones read only the new hours and the edges): the first call of a new
  minute (it reads the tick's windows) and calls later in the same minute (they share that read);
- `/v1/usage/export` of 1 day and of 7 days as NDJSON: rows per second, and the process's peak RSS
  (VmHWM) before and after each, to show memory does not grow with the range.

Usage: python bench/usage_bench.py [--days 7] [--dimensions 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

READ_TOKEN = "bench-read-token-0123456789"


def start_of(days: int) -> datetime:
    """The data ends at the last whole hour, so that `/v1/slo/status` (which looks back from now) sees it."""
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)


def baseline(client: Any, start: datetime, days: int, prices: Path, runs: int) -> dict[str, float]:
    """The stats question's SQL alone, from the rollup and from the raw table alone (the baseline), same process."""
    from api.usage_query import StatsQuery, stats_sql
    from schemas.prices import load_prices

    end = start + timedelta(days=days)
    query = StatsQuery.model_validate({"from": start, "to": end, "group_by": "model"})
    found = {}
    for label, force_raw in (("rollup", False), ("raw_only", True)):
        built = stats_sql(query, load_prices(prices), end, force_raw=force_raw)
        client.query(built.sql, built.params)
        durations = []
        for _ in range(runs):
            began = time.monotonic()
            client.query(built.sql, built.params)
            durations.append(time.monotonic() - began)
        found[f"stats_by_model_sql_{label}_s"] = statistics.median(durations)
    return found


def generate(url: str, days: int, dimensions: int, start: datetime) -> int:
    """In a child process (it holds the chDB path while it runs): migrate, insert, let the views fill both rollups."""
    from runtime.clickhouse import connect
    from storage.schema import migrate

    client: Any = connect(url)
    migrate(client)
    rows = days * 1440 * dimensions
    chunk = 2_000_000
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        route, minute = f"(n % {dimensions})", f"intDiv(n, {dimensions})"
        client.command(
            "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, organization_id, is_anonymous,"
            " is_streaming, user_byok, provider, requested_model, resolved_model, inference_provider, tools_available,"
            " tools_used, ttfb_ms, complete_request_ms, status_code, input_tokens, output_tokens, cache_write_tokens,"
            " cache_hit_tokens, total_tokens, kafka_topic, kafka_partition, kafka_offset) "
            f"SELECT generateUUIDv4(), toDateTime64('{start:%Y-%m-%d %H:%M:%S}', 3, 'UTC') + toIntervalMillisecond("
            f"{minute} * 60000 + {route} * 100), concat('client-', toString({route} % 5)), "
            "concat('user-', toString(cityHash64(n) % 5000)), if(n % 3 = 0, NULL, concat('org-', toString(n % 40))), "
            f"false, true, n % 10 = 0, concat('provider-', toString({route} % 10)), 'kilo/auto', "
            f"concat('model-', toString({route})), if(n % 4 = 0, NULL, 'inference-a'), ['function:read_file'], [], "
            "40 + n % 300, 100 + (n * 7919) % 3000, if(cityHash64(n) % 200 = 0, 500, 200), "
            "1000 + n % 5000, 10 + n % 800, 0, (1000 + n % 5000) / 3, 1010 + n % 5000 + n % 800, 'bench', 0, n "
            f"FROM (SELECT number + {offset} AS n FROM numbers({n}))",
            settings={"max_insert_block_size": 1_000_000},
        )
    settle(client)
    return rows


def settle(client: Any, limit_s: float = 300) -> None:
    """Waits for the background merges of the freshly inserted parts: a week-old rollup in production has long been
    merged, and answers measured while merges take the other core would measure the merges."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        if not client.query("SELECT count() FROM system.merges").result_rows[0][0]:
            return
        time.sleep(1)


def prices_file(directory: Path, dimensions: int, start: datetime, days: int) -> Path:
    """A price for every model but the last ten (reported as unpriced), with a price change halfway."""
    lines, first, change = ["prices:"], start.date() - timedelta(days=30), start.date() + timedelta(days=max(1, days // 2))
    for m in range(dimensions - 10):
        lines.append(f"  - {{model: model-{m}, from: {first}, input: 3, output: 15, cache_read: 0.3}}")
        lines.append(f"  - {{model: model-{m}, from: {change}, input: 2, output: 10}}")
    path = directory / "prices.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def reset_peak(pid: int) -> None:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


async def timed(session: aiohttp.ClientSession, url: str, runs: int) -> tuple[float, Any]:
    durations, body = [], None
    for _ in range(runs):
        began = time.monotonic()
        async with session.get(url) as answer:
            body = await answer.json()
            assert answer.status == 200, body
        durations.append(time.monotonic() - began)
    return statistics.median(durations), body


async def export(session: aiohttp.ClientSession, url: str) -> tuple[int, float]:
    began, lines = time.monotonic(), 0
    async with session.get(url) as answer:
        assert answer.status == 200, await answer.text()
        async for chunk in answer.content.iter_chunked(1 << 20):
            lines += chunk.count(b"\n")
    return lines, time.monotonic() - began


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def measure(api: str, pid: int, start: datetime, days: int, runs: int) -> dict[str, Any]:
    end = start + timedelta(days=days)
    window = f"from={iso(start)}&to={iso(end)}"
    edges = f"from={iso(start + timedelta(minutes=17))}&to={iso(end - timedelta(minutes=23))}"
    result: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {READ_TOKEN}"}
    async with aiohttp.ClientSession(api, headers=headers, timeout=aiohttp.ClientTimeout(total=3600)) as session:
        result["slo_status_first_s"], _ = await timed(session, "/v1/slo/status?limit=100000", 1)  # waits for the start-up read
        await timed(session, f"/v1/usage/stats?{window}&group_by=model", 1)  # warm caches once
        result["stats_by_model_s"], body = await timed(session, f"/v1/usage/stats?{window}&group_by=model", runs)
        result["stats_groups"], result["stats_source"] = len(body["groups"]), body["source"]
        result["stats_total_requests"] = body["total"]["requests"]
        result["stats_total_cost_usd"] = body["total"]["cost"]["usd"]
        result["stats_unpriced_requests"] = body["total"]["cost"]["unpriced_requests"]
        result["stats_by_model_edges_s"], body = await timed(session, f"/v1/usage/stats?{edges}&group_by=model", runs)
        result["stats_edges_source"] = body["source"]
        result["stats_by_user_raw_s"], body = await timed(session, f"/v1/usage/stats?{window}&group_by=user&limit=10000",
                                                          max(1, runs // 2))
        result["stats_users"] = len(body["groups"])
        result["timeseries_hourly_s"], body = await timed(session, f"/v1/usage/timeseries?{window}&interval=1h", runs)
        result["timeseries_points"] = len(body["points"])
        new_minute = []
        for _ in range(3):  # the first call of a minute reads the tick's windows; later ones in it share that read
            await asyncio.sleep(61 - time.time() % 60)
            seconds, _ = await timed(session, "/v1/slo/status?limit=100000", 1)
            new_minute.append(seconds)
        result["slo_status_new_minute_s"] = statistics.median(new_minute)
        result["slo_status_same_minute_s"], body = await timed(session, "/v1/slo/status?limit=100000", runs)
        result["slo_status_count"] = body["count"]

        for label, span in (("1d", timedelta(days=1)), (f"{days}d", end - start)):
            rss_before, _ = peak_rss_mb(pid)
            reset_peak(pid)
            rows, seconds = await export(session, f"/v1/usage/export?from={iso(start)}&to={iso(start + span)}")
            _, peak = peak_rss_mb(pid)
            result[f"export_{label}"] = {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
                                         "rss_before_mb": round(rss_before), "peak_rss_mb": round(peak)}

    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--dimensions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--prices", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        from runtime.clickhouse import connect

        started = datetime.fromisoformat(args.start)
        events = generate(args.generate, args.days, args.dimensions, started)
        sql = baseline(connect(args.generate), started, args.days, Path(args.prices), args.runs)
        print(json.dumps({"events": events, **sql}))
        return
    start = start_of(args.days)
    from o11y.embedded import free_port

    directory = Path(tempfile.mkdtemp(prefix="o11y-usage-bench-"))
    url = f"chdb://{directory / 'ch'}"
    began = time.monotonic()
    prices = prices_file(directory, args.dimensions, start, args.days)
    out = subprocess.run([sys.executable, __file__, "--generate", url, "--start", start.isoformat(), "--days",
                          str(args.days), "--dimensions", str(args.dimensions), "--prices", str(prices), "--runs",
                          str(args.runs)], capture_output=True, text=True, check=True)
    sql = json.loads(out.stdout.strip().splitlines()[-1])
    events = sql.pop("events")
    print(f"generated {events:,} events ({args.days} days × {args.dimensions} routes) in {time.monotonic() - began:.0f} s",
          flush=True)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("O11Y_")},
           "O11Y_CLICKHOUSE_URL": url, "O11Y_HTTP_PORT": str(port), "O11Y_HTTP_HOST": "127.0.0.1",
           "O11Y_API_TOKENS": json.dumps({"bench": [READ_TOKEN]}),
           "O11Y_ADMIN_TOKENS": json.dumps({"bench-admin": ["bench-admin-token-0123456789"]}),
           "O11Y_PRICES": str(prices), "O11Y_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "o11y.cli", "api"], env=env, cwd=directory)
    try:
        api = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                import urllib.request

                urllib.request.urlopen(f"{api}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        result = asyncio.run(measure(api, server.pid, start, args.days, args.runs))
    finally:
        server.terminate()
        server.wait(30)
    result = {"events": events, "days": args.days, "routes": args.dimensions, **{
        k: round(v, 4) if isinstance(v, float) else v for k, v in {**result, **sql}.items()}}
    result["stats_sql_rollup_vs_raw_only"] = round(
        result["stats_by_model_sql_rollup_s"] / result["stats_by_model_sql_raw_only_s"], 4)
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results" / "usage.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
