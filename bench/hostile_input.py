"""Memory under hostile input, this tree against another checkout, measured the same way in one run.

- ingest: 80 concurrent 8 MB batches of empty objects with a wrong secret (in a header, then in the body),
  while a gateway keeps sending valid events: peak RSS of `o11y ingest`, and those events' latency.
- loader: 20,000 events of about 10 KB each loaded by `o11y load` into chDB: its peak RSS.

Usage: python bench/hostile_input.py [--baseline PATH-OF-ANOTHER-CHECKOUT] [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from o11y.embedded import EmbeddedKafka, free_port  # noqa: E402
from support.events import seed_event  # noqa: E402
from support.hostile import ATTACK_BODY, Ingest, attack_and_measure  # noqa: E402
from support.kafka_io import produce  # noqa: E402
from support.processes import clean_env  # noqa: E402


def peak_rss_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) // 1024


def ingest_under_attack(kafka: EmbeddedKafka, source: str | None) -> dict[str, Any]:
    ingest = Ingest(kafka, f"hostile-{time.monotonic_ns()}", source)
    try:
        header = asyncio.run(attack_and_measure(ingest, 80, ATTACK_BODY, {"Authorization": "Bearer WRONG-0123456789abcdef",
                                                                          "Content-Type": "application/json"}))
        in_body = asyncio.run(attack_and_measure(ingest, 80, b'[{"clientSecret": "WRONG-0123456789"},' + ATTACK_BODY[1:],
                                                 {"Content-Type": "application/json"}))
        return {"header": header, "body": in_body, "peak_rss_mb": round(ingest.peak_rss_mb())}
    finally:
        ingest.stop()


def big_events(count: int) -> list[tuple[bytes, bytes]]:
    from schemas.api_metrics import ApiMetricsParams
    from schemas.event_message import encode_message, message_from_event, message_key

    tools = [f"function:tool_{j}_" + "x" * 20 for j in range(250)]
    out = []
    for i in range(count):
        event = ApiMetricsParams.model_validate(seed_event(kiloUserId=f"u{i}", toolsAvailable=tools))
        message = message_from_event(event, "big", datetime.now(timezone.utc))
        out.append((message_key(message), encode_message(message)))
    return out


def loader_peak(kafka: EmbeddedKafka, topic: str, events: int, source: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = clean_env(O11Y_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers, O11Y_KAFKA_TOPIC=topic,
                   O11Y_CLICKHOUSE_URL=f"chdb://{tmp}/ch", O11Y_HTTP_PORT=str(port), O11Y_HTTP_HOST="127.0.0.1",
                   O11Y_LOADER_GROUP_ID=f"hostile-{time.monotonic_ns()}")
        if source:
            env["PYTHONPATH"] = source
        subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, cwd=source, check=True, capture_output=True)
        loader = subprocess.Popen([sys.executable, "-m", "o11y.cli", "load"], env=env, cwd=source, stderr=subprocess.DEVNULL)
        started, loaded = time.monotonic(), 0.0
        while loaded < events and time.monotonic() - started < 600:
            time.sleep(1)
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            except OSError:
                continue
            loaded = next((float(line.split()[1]) for line in text.splitlines()
                           if line.startswith('o11y_loader_rows_loaded_total{event_type="api-metrics"} ')), 0.0)
        peak = peak_rss_mb(loader.pid)
        loader.terminate()
        loader.wait(60)
    return {"events": int(loaded), "seconds": round(time.monotonic() - started, 1), "peak_rss_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="another checkout to measure the same way (e.g. a git worktree of main)")
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    sources = {"this tree": None, **({"baseline": args.baseline} if args.baseline else {})}
    results: dict[str, Any] = {}
    with EmbeddedKafka() as kafka:
        topic = "hostile-big"
        produce(kafka.bootstrap_servers, topic, big_events(args.events), partitions=6)
        for name, source in sources.items():
            results[name] = {"ingest": ingest_under_attack(kafka, source),
                             "loader": loader_peak(kafka, topic, args.events, source)}
            print(f"{name}: {json.dumps(results[name])}", flush=True)
    out = ROOT / "bench" / "results" / "hostile_input.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
