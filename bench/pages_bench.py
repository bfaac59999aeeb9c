"""The pages with 500 routes: page weight and time to first render, in Debian's chromium, of a real `o11y api`.

One day × 500 routes (one request a minute per route) is loaded as `usage_bench.py` loads its week. Then `o11y api`
runs as its own process and a headless chromium signs in and opens the overview (every SLO of every route: 1,500
rows, the first 500 drawn), a route's page (24 hours) and the usage page, each several times. Per page: the bytes
on the wire (compressed) and uncompressed, the number of requests, and the time from navigation start to the first
contentful paint and to the load event. The baseline, measured in the same run: fetching the overview's own data
(`/v1/slo/status` for every route) over HTTP from the same process, without rendering anything.

Usage: python bench/pages_bench.py [--dimensions 500] [--runs 5]
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
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

READ_TOKEN = "bench-read-token-0123456789"
TIMING = """async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = await new Promise(done => {
    new PerformanceObserver(list => done(list.getEntriesByName('first-contentful-paint')[0]))
      .observe({type: 'paint', buffered: true});
    setTimeout(() => done(null), 3000);
  });
  const resources = performance.getEntriesByType('resource');
  return {fcp_ms: paint ? paint.startTime : null, load_ms: nav.loadEventEnd, response_end_ms: nav.responseEnd,
          transfer_bytes: nav.transferSize + resources.reduce((a, r) => a + r.transferSize, 0),
          body_bytes: nav.decodedBodySize + resources.reduce((a, r) => a + r.decodedBodySize, 0),
          encoded_bytes: nav.encodedBodySize, requests: 1 + resources.length,
          rows: document.querySelectorAll('#overview tbody tr').length,
          charts: document.querySelectorAll('svg.chart').length};
}"""


def start_api(url: str, directory: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("O11Y_")},
           "O11Y_CLICKHOUSE_URL": url, "O11Y_HTTP_PORT": str(port), "O11Y_HTTP_HOST": "127.0.0.1",
           "O11Y_API_TOKENS": json.dumps({"bench": [READ_TOKEN]}),
           "O11Y_ADMIN_TOKENS": json.dumps({"bench-admin": ["bench-admin-token-0123456789"]}), "O11Y_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "o11y.cli", "api"], env=env, cwd=directory)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("o11y api did not start")


async def measure(api: str, route: tuple[str, str, str], runs: int) -> dict[str, Any]:
    from support.browser import chromium

    result: dict[str, Any] = {}
    async with aiohttp.ClientSession(api, headers={"Authorization": f"Bearer {READ_TOKEN}"}) as session:
        async def status() -> float:
            began = time.monotonic()
            async with session.get("/v1/slo/status?limit=100000") as answer:
                await answer.read()
            return time.monotonic() - began

        await status()  # the start-up read of the SLO period
        result["baseline_status_api_ms"] = statistics.median([await status() for _ in range(runs)]) * 1000
    provider, model, client = route
    pages = {"overview": "/ui/", "route": f"/ui/route?provider={provider}&model={model}&client={client}&range=24h",
             "usage": "/ui/usage?range=24h&group_by=model"}
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{api}/ui/login")
        await page.fill("input[name=token]", READ_TOKEN)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{api}/ui/")
        for name, path in pages.items():
            found = []
            for _ in range(runs):
                await page.goto(f"{api}{path}", wait_until="load")
                found.append(await page.evaluate(TIMING))
            result[name] = {key: statistics.median(f[key] for f in found) for key in found[0] if found[0][key] is not None}
    result["overview_fcp_vs_status_api"] = result["overview"]["fcp_ms"] / result["baseline_status_api_ms"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dimensions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from o11y.embedded import free_port

    directory = Path(tempfile.mkdtemp(prefix="o11y-pages-bench-"))
    url = f"chdb://{directory / 'ch'}"
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    began = time.monotonic()
    # In a child process, as usage_bench.py does: it holds the chDB path while it writes.
    code = ("import sys; sys.path[:0] = sys.argv[1:3]; from usage_bench import generate; from datetime import datetime; "
            "generate(sys.argv[3], 1, int(sys.argv[4]), datetime.fromisoformat(sys.argv[5]))")
    subprocess.run([sys.executable, "-c", code, str(ROOT / "bench"), str(ROOT), url, str(args.dimensions), start.isoformat()],
                   check=True)
    print(f"generated 1 day × {args.dimensions} routes in {time.monotonic() - began:.0f} s", flush=True)
    port = free_port()
    server = start_api(url, directory, port)
    try:
        result = asyncio.run(measure(f"http://127.0.0.1:{port}", ("provider-1", "model-1", "client-1"), args.runs))
    finally:
        server.terminate()
        server.wait(30)
    result = {"routes": args.dimensions, **result}
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results" / "pages.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
