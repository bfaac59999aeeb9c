"""Detection delay: `o11y dev` with its real scheduler, incidents injected through the ingest endpoint,
seconds from the first bad event to the Slack post (a local webhook server), median of several incidents.

Usage: python bench/detection_bench.py [--incidents 3]   (about 2.5 minutes per incident)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from o11y.demo import run_demo  # noqa: E402
from o11y.demo_requests import ROUTES, Incident  # noqa: E402
from o11y.embedded import free_port, wait_for_port  # noqa: E402
from support.fake_slack import FakeSlack  # noqa: E402
from support.processes import clean_env  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=3)
    args = parser.parse_args()
    delays: list[float] = []
    with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = clean_env(O11Y_HTTP_PORT=str(port), O11Y_HTTP_HOST="127.0.0.1", O11Y_DATA_DIR=tmp, O11Y_LOG_LEVEL="WARNING",
                   O11Y_SLACK_PAGE_WEBHOOK_URL=slack.url("page"), O11Y_SLACK_TICKET_WEBHOOK_URL=slack.url("ticket"))
        dev = subprocess.Popen([sys.executable, "-m", "o11y.cli", "dev"], env=env, stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, dev, "o11y dev", timeout_s=120)
            time.sleep(3)
            secrets = json.loads((Path(tmp) / "dev-clients.json").read_text())
            for i in range(args.incidents):
                provider, model, _ = ROUTES[i % len(ROUTES)]
                incident = Incident(kind="errors", start_s=5, duration_s=150, provider=provider, model=model)
                started = time.time()
                posts_before = len(slack.posts)
                task = run_demo(f"http://127.0.0.1:{port}", secrets, 30, 170, incident, out=io.StringIO(), seed=i)
                asyncio.run(_until_page(task, slack, posts_before, model))
                delay = slack.page_times[model] - (started + incident.start_s)
                delays.append(round(delay, 1))
                print(f"incident {i + 1}: {model} paged after {delay:.0f} s", flush=True)
        finally:
            dev.terminate()
            dev.wait(60)
    results = {"incidents": len(delays), "delays_s": delays, "median_s": statistics.median(delays)}
    out = ROOT / "bench" / "results" / "detection.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"detection delay median {results['median_s']} s over {len(delays)} incidents ({out.relative_to(ROOT)})")


async def _until_page(demo: Coroutine[Any, Any, object], slack: FakeSlack, posts_before: int, model: str) -> None:
    task = asyncio.ensure_future(demo)
    while not task.done():
        for severity, body in slack.posts[posts_before:]:
            if severity == "page" and model in body["text"] and model not in slack.page_times:
                slack.page_times[model] = time.time()
        if model in slack.page_times:
            task.cancel()
            break
        await asyncio.sleep(0.2)
    try:
        await task
    except asyncio.CancelledError:
        pass
    if model not in slack.page_times:
        raise SystemExit(f"no page for {model}")


if __name__ == "__main__":
    main()
