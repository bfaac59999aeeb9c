"""Run every benchmark in sequence and print one summary from bench/results/*.json.

Usage: python bench/run_all.py [--quick]   (--quick: shorter runs, smaller data; not the reported figures)
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def run(script: str, *args: str) -> None:
    print(f"== {script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    run("ingest_bench.py", "--seconds", "5" if quick else "20")
    run("loader_bench.py", "--events", "100000" if quick else "1000000")
    run("evaluation_bench.py", *(["--hours", "1", "--runs", "2"] if quick else []))
    run("detection_bench.py", "--incidents", "1" if quick else "3")
    run("alert_timelines.py")
    run("backtest_bench.py", *(["--days", "1", "--dimensions", "100"] if quick else []))
    run("usage_bench.py", *(["--days", "1", "--dimensions", "100", "--runs", "2"] if quick else []))
    run("pages_bench.py", *(["--dimensions", "100", "--runs", "2"] if quick else []))
    summary(quick)


def summary(quick: bool) -> None:
    ingest = json.loads((RESULTS / "ingest.json").read_text())
    loader = json.loads((RESULTS / "loader.json").read_text())
    evaluation = json.loads((RESULTS / "evaluation.json").read_text())
    detection = json.loads((RESULTS / "detection.json").read_text())
    timelines = json.loads((RESULTS / "alert_timelines.json").read_text())
    backtest = json.loads((RESULTS / "backtest.json").read_text())
    usage = json.loads((RESULTS / "usage.json").read_text())
    export = usage[f"export_{usage['days']}d"]
    pages = json.loads((RESULTS / "pages.json").read_text())
    overview = pages["overview"]
    rows = [
        (
            "ingest single events",
            f"{ingest['ingest']['requests_per_s']:,.0f} req/s",
            f"{ingest['ratio_ingest_vs_bare']:.2f}x bare aiohttp",
            "≥ 0.5x",
        ),
        (
            "ingest p50 / p99",
            f"{ingest['ingest']['p50_ms']:.1f} / {ingest['ingest']['p99_ms']:.1f} ms",
            f"bare {ingest['bare']['p50_ms']:.1f} / {ingest['bare']['p99_ms']:.1f} ms",
            "",
        ),
        ("ingest batch endpoint", f"{ingest['batch_events_per_s']:,} events/s", "", "≥ 50,000"),
        ("ingest sessions, single", f"{ingest['sessions']['requests_per_s']:,.0f} req/s",
         f"{ingest['ratio_sessions_vs_requests']:.2f}x the request endpoint", ""),
        ("ingest sessions, batch", f"{ingest['session_batch_events_per_s']:,} events/s",
         f"{ingest['ratio_session_batch_vs_request_batch']:.2f}x the request batch endpoint", ""),
        ("ingest peak RSS", f"{ingest['ingest_peak_rss_mb']} MB", "", "≤ 200 MB"),
        (
            "loader",
            f"{loader['loader_events_per_s']:,} events/s",
            f"{loader['ratio_loader_vs_raw']:.2f}x raw consumption",
            "≥ 50,000 and ≥ 0.5x",
        ),
        ("loader process peak RSS", f"{loader['peak_rss_mb']} MB", "includes chDB and the prefill", ""),
        (
            "one evaluation tick",
            f"{evaluation['tick_rollup_s'] * 1000:.0f} ms",
            f"{evaluation['speedup_rollup_vs_raw']}x faster than raw ({evaluation['tick_raw_s'] * 1000:.0f} ms)",
            "≤ 1 s",
        ),
        (
            "one whole tick, all burning",
            f"{evaluation['whole_tick_steady_s'] * 1000:.0f} ms",
            f"opening {evaluation['open_incidents']}: {evaluation['whole_tick_opening_s'] * 1000:.0f} ms",
            "≤ 1 s",
        ),
        (
            "backtest, 7 days × 500 routes",
            f"{backtest['backtest_total_s']:.1f} s",
            f"{backtest['backtest_vs_baseline']:.3f}x one query per minute ({backtest['one_query_per_minute_s']:.0f} s)",
            "≤ 60 s",
        ),
        ("baseline query", f"{backtest['baseline_query_s'] * 1000:.0f} ms",
         f"{backtest['baseline_vs_tick_query']:.2f}x one tick's query", ""),
        ("usage stats by model", f"{usage['stats_by_model_s'] * 1000:.0f} ms",
         f"SQL {usage['stats_sql_rollup_vs_raw_only']:.2f}x the raw table's", "≤ 300 ms"),
        ("slo/status, every route", f"{usage['slo_status_new_minute_s'] * 1000:.0f} ms",
         f"{usage['slo_status_count']} statuses; {usage['slo_status_same_minute_s'] * 1000:.0f} ms later in the minute",
         "≤ 500 ms"),
        ("usage export", f"{export['rows_per_s']:,} rows/s", f"peak RSS {export['peak_rss_mb']} MB", "≥ 100,000"),
        ("overview page, first paint", f"{overview['fcp_ms']:.0f} ms",
         f"{pages['overview_fcp_vs_status_api']:.2f}x its data over the API; {overview['transfer_bytes'] / 1024:.0f} KiB", ""),
        ("detection delay (median)", f"{detection['median_s']} s", f"{detection['incidents']} incidents", "≤ 90 s"),
        ("healthy 6 h, 50 routes", f"{timelines['healthy_6h_50_routes_notifications']} notifications", "", "0"),
        (
            "Workbook example",
            f"page {timelines['workbook_page_tick']}, resolve {timelines['workbook_resolve_tick']}",
            "errors in minutes 60-69",
            "",
        ),
    ]
    print(f"\n{platform.node()} · {platform.machine()} · Python {platform.python_version()}{' · QUICK' if quick else ''}")
    for name, figure, ratio, goal in rows:
        print(f"{name:<26} {figure:>22}  {ratio:<40} {goal}")


if __name__ == "__main__":
    main()
