"""Sustained load: `o11y ingest` and `o11y load` as separate processes at a fixed rate for N minutes; RSS and errors.

Usage: python bench/sustained_load.py [--minutes 10] [--rate R]   (default R: half the last ingest_bench maximum)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from o11y.embedded import free_port, wait_for_port  # noqa: E402
from support.processes import clean_env  # noqa: E402

EVENT = {
    "kiloUserId": "user_123", "isAnonymous": False, "isStreaming": True, "userByok": False, "provider": "openai",
    "requestedModel": "kilo/auto", "resolvedModel": "anthropic/claude-sonnet-4.5", "toolsAvailable": ["function:a"],
    "toolsUsed": [], "ttfbMs": 45, "completeRequestMs": 123, "statusCode": 200,
}


def rss_mb(pid: int) -> float:
    """Resident memory of one process (0 once it is gone)."""
    if not Path(f"/proc/{pid}/status").exists():
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def drive(url: str, secret: str, rate: float, seconds: float, pids: dict[str, int]) -> dict[str, object]:
    statuses: dict[int, int] = {}
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    sent = 0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"},
                                     connector=aiohttp.TCPConnector(limit=128)) as session:
        async def one() -> None:
            try:
                async with session.post(url, json=EVENT) as response:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            except aiohttp.ClientError:
                statuses[-1] = statuses.get(-1, 0) + 1

        tasks: set[asyncio.Task[None]] = set()
        next_sample = started
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate) - sent
            for _ in range(max(0, min(due, 500))):
                task = asyncio.create_task(one())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            if time.monotonic() >= next_sample:
                samples.append({"t": round(elapsed), **{name: round(rss_mb(pid), 1) for name, pid in pids.items()}})
                print(f"{elapsed:6.0f}s sent {sent:,} in flight {len(tasks)} statuses {statuses} rss {samples[-1]}", flush=True)
                next_sample += 30
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
    return {"sent": sent, "statuses": statuses, "rss_samples_mb": samples}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=None)
    args = parser.parse_args()
    rate = args.rate
    if rate is None:
        rate = json.loads((ROOT / "bench" / "results" / "ingest.json").read_text())["ingest"]["requests_per_s"] / 2
    from o11y.embedded import EmbeddedKafka

    secret = "sustained-secret"
    with EmbeddedKafka() as kafka, tempfile.TemporaryDirectory() as tmp:
        port, loader_port = free_port(), free_port()
        env = clean_env(O11Y_HTTP_HOST="127.0.0.1", O11Y_LOG_LEVEL="WARNING", O11Y_CLICKHOUSE_URL=f"chdb://{tmp}/ch",
                   O11Y_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
                   O11Y_CLIENT_SECRETS=json.dumps({"kilo-gateway": [secret]}), O11Y_WORKERS="1")
        subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        ingest = subprocess.Popen([sys.executable, "-m", "o11y.cli", "ingest"], env={**env, "O11Y_HTTP_PORT": str(port)})
        loader = subprocess.Popen([sys.executable, "-m", "o11y.cli", "load"], env={**env, "O11Y_HTTP_PORT": str(loader_port)})
        try:
            wait_for_port(port, ingest, "o11y ingest", timeout_s=120)
            wait_for_port(loader_port, loader, "o11y load", timeout_s=120)
            time.sleep(2)
            result = asyncio.run(drive(f"http://127.0.0.1:{port}/ingest/api-metrics", secret, rate, args.minutes * 60,
                                       {"ingest": ingest.pid, "loader": loader.pid}))
        finally:
            for process in (ingest, loader):
                process.terminate()
                process.wait(60)
    samples = result["rss_samples_mb"]
    after_warmup = [s for s in samples if s["t"] >= 60] or samples  # type: ignore[attr-defined]
    result.update(rate=round(rate), minutes=args.minutes, **{
        f"{name}_rss_growth_after_first_minute_mb": round(after_warmup[-1][name] - after_warmup[0][name], 1)  # type: ignore[index]
        for name in ("ingest", "loader")})
    out = ROOT / "bench" / "results" / "sustained.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['sent']:,} events at {rate:.0f}/s for {args.minutes} min: statuses {result['statuses']}; RSS growth "
          f"after the first minute: ingest {result['ingest_rss_growth_after_first_minute_mb']} MB, "
          f"loader {result['loader_rss_growth_after_first_minute_mb']} MB ({out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
