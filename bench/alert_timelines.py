"""Alert quality on simulated timelines, evaluated tick by tick (real chDB, redis-server, a local Slack stand-in).

Reports what on-call would have seen: notifications over six hours of healthy traffic on 50 routes, the
Workbook example's page and resolve, and detection delays in ticks (1 = the first tick that can see the
first bad minute).

Usage: python bench/alert_timelines.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from redis import Redis  # noqa: E402

from o11y.embedded import EmbeddedRedis  # noqa: E402
from runtime.clickhouse import connect  # noqa: E402
from storage.schema import migrate  # noqa: E402
from support.alerting_harness import make_evaluator  # noqa: E402
from support.fake_slack import FakeSlack  # noqa: E402
from support.timeline import Timeline, realistic  # noqa: E402


def pages(evaluator: Any, timeline: Timeline, first: int, last: int) -> list[tuple[int, str, str]]:
    """(tick, decision, slo) of every page delivered or resolved, tick by tick."""
    out = []
    for minute in range(first, last):
        for d in evaluator.evaluate_tick(timeline.at(minute)):
            if d.severity == "page" and d.decision in ("delivered", "resolved"):
                out.append((minute, d.decision, d.slo))
    return out


def delay(events: list[tuple[int, str, str]], first_bad: int) -> int | None:
    delivered = [m for m, what, _ in events if what == "delivered"]
    return delivered[0] - first_bad if delivered else None


def main() -> None:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as server, FakeSlack() as slack:
        clickhouse = connect(f"chdb://{tmp}/ch")
        migrate(clickhouse)
        redis = Redis.from_url(server.url)

        def fresh() -> Any:
            redis.flushall()
            slack.posts.clear()
            return make_evaluator(clickhouse, redis, slack)

        healthy = Timeline(clickhouse)
        realistic(healthy, -360, 360, dimensions=50, per_minute=60)
        evaluator = fresh()
        for minute in range(1, 361):
            evaluator.evaluate_tick(healthy.at(minute))
        results["healthy_6h_50_routes_notifications"] = len(slack.posts)

        workbook = Timeline(clickhouse)
        workbook.traffic(0, 60, 100)
        workbook.traffic(60, 70, 100, 0.15)
        workbook.traffic(70, 120, 100)
        events = pages(fresh(), workbook, 60, 100)
        results["workbook_page_tick"] = next(m for m, what, _ in events if what == "delivered")
        results["workbook_resolve_tick"] = next(m for m, what, _ in events if what == "resolved")
        results["workbook_notifications"] = len(slack.posts)

        for name, bad in (("outage_100pct", 1.0), ("errors_15pct", 0.15)):
            timeline = Timeline(clickhouse)
            timeline.traffic(0, 60, 100)
            timeline.traffic(60, 75, 100, bad)
            results[f"detection_ticks_{name}"] = delay(pages(fresh(), timeline, 60, 75), 60)

        for name, before, after in (("median_3s_to_6s", 3000, 6000), ("median_2s_to_10s", 2000, 10000)):
            timeline = Timeline(clickhouse)
            realistic(timeline, -360, 90, dimensions=5, per_minute=60, complete_median_ms=before, slow=(2, 60, 90, after))
            results[f"detection_ticks_{name}"] = delay(pages(fresh(), timeline, 55, 90), 60)

    out = ROOT / "bench" / "results" / "alert_timelines.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print(f"({out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
