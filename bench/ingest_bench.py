"""Ingest throughput: POST /ingest/api-metrics vs a bare aiohttp handler, and POST /ingest/session-metrics vs the
request endpoint, same machine, same run.

Usage: python bench/ingest_bench.py [--seconds 20] [--connections 64] [--clients kafka-python,confluent-kafka]
Needs `wrk` (Debian package) as the load generator, in its own process, and `hey` (Debian package) for the latency at
half the maximum rate: wrk finds the maximum, then hey holds half of it steady (16 workers, each at its share of the rate).
The broker's own floor at that rate is measured too: a bare librdkafka producer's time to the acknowledgement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from o11y.embedded import EmbeddedKafka, free_port, wait_for_port  # noqa: E402

SECRET = "bench-secret-0123456789"
EVENT = {
    "kiloUserId": "user_123", "organizationId": "org_456", "isAnonymous": False, "isStreaming": True,
    "userByok": False, "mode": "build", "provider": "openai", "requestedModel": "kilo/auto",
    "resolvedModel": "anthropic/claude-sonnet-4.5",
    "toolsAvailable": ["function:get_weather", "function:searchDocs", "function:read_file", "function:write_file"],
    "toolsUsed": ["function:searchDocs"], "ttfbMs": 45, "completeRequestMs": 123, "statusCode": 200,
    "ipAddress": "203.0.113.9", "clientSecret": SECRET,
    "tokens": {"inputTokens": 1000, "outputTokens": 200, "cacheWriteTokens": 0, "cacheHitTokens": 300, "totalTokens": 1200},
}
SESSION = {
    "kiloUserId": "user_123", "organizationId": "org_456", "sessionId": "ses_0001", "platform": "vscode",
    "sessionDurationMs": 184000, "timeToFirstResponseMs": 2300, "totalTurns": 4, "totalSteps": 17,
    "toolCallsByType": {"read_file": 6, "search_files": 2, "write_to_file": 2, "execute_command": 3},
    "toolErrorsByType": {"execute_command": 1}, "totalErrors": 1, "errorsByType": {"tool_error": 1}, "stuckToolCallCount": 0,
    "totalTokens": {"input": 52000, "output": 3100, "reasoning": 800, "cacheRead": 40000, "cacheWrite": 6000},
    "totalCost": 0.4213, "compactionCount": 1, "autoCompactionCount": 1, "terminationReason": "completed",
    "model": "anthropic/claude-sonnet-4.5", "ingestVersion": 1, "clientSecret": SECRET,
}
"""A finished agent session of about the request's size, every map filled."""
REQUESTS, SESSIONS = "/ingest/api-metrics", "/ingest/session-metrics"


def wrk(url: str, body: bytes, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\n'
                     'wrk.headers["Content-Type"] = "application/json"\n'
                     'done = function(summary, latency, requests)\n'
                     '  io.write(string.format("P50 %d\\nP99 %d\\n", latency:percentile(50), latency:percentile(99)))\n'
                     '  io.write(string.format("NON2XX %d\\n", summary.errors.status))\nend\n')
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = float(re.search(r"P50 (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    p99 = float(re.search(r"P99 (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    non2xx = int(re.search(r"NON2XX (\d+)", out).group(1))  # type: ignore[union-attr]
    return {"requests_per_s": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": non2xx}


def at_rate(url: str, body: bytes, rate: float, seconds: int, workers: int = 16) -> dict[str, float]:
    """Latency while `rate` requests/s arrive steadily (not as fast as the server answers)."""
    out = subprocess.run(["hey", "-z", f"{seconds}s", "-c", str(workers), "-q", f"{rate / workers:.2f}", "-cpus", "1",
                          "-m", "POST", "-T", "application/json", "-d", body.decode(), url],
                         capture_output=True, text=True, check=True).stdout
    found = {q: float(re.search(rf"\s{q}% in ([\d.]+) secs", out).group(1)) * 1000 for q in (50, 99)}  # type: ignore[union-attr]
    achieved = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    statuses = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    return {"rate": round(rate), "requests_per_s": achieved, "p50_ms": round(found[50], 2), "p99_ms": round(found[99], 2),
            "non_2xx": sum(int(n) for code, n in statuses.items() if not code.startswith("2"))}


def broker_ack_at_rate(servers: str, rate: float, seconds: int, value_bytes: int) -> dict[str, float]:
    """The broker's own floor: a bare librdkafka producer (acks=all, idempotent, linger 0, as ingest's) sending a message
    of the event's size at `rate`, steadily, with nothing else in its process; latency from produce to acknowledgement."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": servers})
    admin.create_topics([NewTopic("bench-floor", 6, 1)])["bench-floor"].result()
    producer = Producer({"bootstrap.servers": servers, "acks": "all", "enable.idempotence": True, "linger.ms": 0,
                         "socket.nagle.disable": True})
    latencies: list[float] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            producer.poll(0.05)

    def acked(sent: float) -> Callable[[object, object], None]:
        return lambda _err, _message: latencies.append(time.perf_counter() - sent)

    server = threading.Thread(target=serve)
    server.start()
    value = b"x" * value_bytes
    for i in range(200):  # connected, with its producer id, before anything is measured
        producer.produce("bench-floor", value, b"k%d" % (i % 7), on_delivery=acked(time.perf_counter()))
    producer.flush(10)
    latencies.clear()
    began = time.perf_counter()
    for i in range(int(rate * seconds)):
        if (ahead := began + i / rate - time.perf_counter()) > 0:
            time.sleep(ahead)
        producer.produce("bench-floor", value, b"k%d" % (i % 7), on_delivery=acked(time.perf_counter()))
    producer.flush(10)
    stop.set()
    server.join()
    latencies.sort()
    return {"rate": round(rate), "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2)}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def batch_rate(port: int, seconds: int, path: str = REQUESTS, event: dict[str, object] = EVENT, size: int = 1000,
               connections: int = 8) -> float:
    """Events/s through POST `path`/batch with 1000-event batches, from a client process."""
    script = f"""
import asyncio, json, sys, time
import aiohttp
EVENT = json.loads(sys.argv[1]); EVENT.pop("clientSecret")
BODY = json.dumps([EVENT] * {size}).encode()
async def worker(session, deadline, done):
    while time.monotonic() < deadline:
        async with session.post("http://127.0.0.1:{port}{path}/batch", data=BODY,
                                headers={{"Content-Type": "application/json", "Authorization": "Bearer {SECRET}"}}) as r:
            assert r.status == 200, r.status
            done[0] += (await r.json())["accepted"]
async def main():
    done = [0]
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        await asyncio.gather(*(worker(session, started + {seconds}, done) for _ in range({connections})))
        print(done[0] / (time.monotonic() - started))
asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", script, json.dumps(event)], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()))


def start(cmd: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process, cmd[-1])
    return process


def session_rates(port: int, seconds: int, connections: int, single_baseline: float, batch_baseline: float) -> dict[str, object]:
    """The session endpoint, single events and batches, measured as the request endpoint was just before, and the ratio of
    each to the request endpoint's rate (its baseline: the same edge, another event type)."""
    single = wrk(f"http://127.0.0.1:{port}{SESSIONS}", json.dumps(SESSION).encode(), seconds, connections)
    batch = batch_rate(port, seconds, SESSIONS, SESSION)
    return {"sessions": single, "session_batch_events_per_s": batch,
            "ratio_sessions_vs_requests": round(single["requests_per_s"] / single_baseline, 3),
            "ratio_session_batch_vs_request_batch": round(batch / batch_baseline, 3)}


DEFAULT_CLIENT = "confluent-kafka"
"""The summary's `ingest` figures are this client's (the default of O11Y_KAFKA_CLIENT)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--clients", default="kafka-python,confluent-kafka", help="O11Y_KAFKA_CLIENT values to measure")
    args = parser.parse_args()
    for tool in ("wrk", "hey"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install {tool}")
    body = json.dumps(EVENT).encode()
    results: dict[str, object] = {"event_bytes": len(body), "connections": args.connections, "seconds": args.seconds}
    with EmbeddedKafka() as kafka:
        bare_port = free_port()
        bare = start([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(bare_port)], bare_port)
        try:
            results["bare"] = bare_max = wrk(f"http://127.0.0.1:{bare_port}/ingest/api-metrics", body, args.seconds,
                                             args.connections)
            results["bare_at_half_rate"] = at_rate(f"http://127.0.0.1:{bare_port}/ingest/api-metrics", body,
                                                   bare_max["requests_per_s"] / 2, args.seconds)
        finally:
            bare.terminate()
            bare.wait()
        clients: dict[str, dict[str, object]] = {}
        for client in args.clients.split(","):
            port = free_port()
            env = {**os.environ, "O11Y_HTTP_PORT": str(port), "O11Y_HTTP_HOST": "127.0.0.1", "O11Y_LOG_LEVEL": "WARNING",
                   "O11Y_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "O11Y_KAFKA_CLIENT": client,
                   "O11Y_WORKERS": "1",  # one core each, as the bare handler has
                   "O11Y_CLIENT_SECRETS": json.dumps({"bench": [SECRET]})}
            ingest = start([sys.executable, "-m", "o11y.cli", "ingest"], port, env)
            try:
                time.sleep(1)
                # Steady state: the producer's first second (connecting, its idempotent producer id) is not measured.
                wrk(f"http://127.0.0.1:{port}/ingest/api-metrics", body, 3, args.connections)
                found: dict[str, object] = {
                    "ingest": wrk(f"http://127.0.0.1:{port}/ingest/api-metrics", body, args.seconds, args.connections)}
                found["at_half_rate"] = at_rate(f"http://127.0.0.1:{port}/ingest/api-metrics", body,
                                                found["ingest"]["requests_per_s"] / 2, args.seconds)  # type: ignore[index]
                found["ingest_peak_rss_mb"] = peak_rss_mb(ingest.pid)
                found["batch_events_per_s"] = batch_rate(port, args.seconds)
                found.update(session_rates(port, args.seconds, args.connections,
                                           found["ingest"]["requests_per_s"], found["batch_events_per_s"]))  # type: ignore[index,arg-type]
            finally:
                ingest.terminate()
                ingest.wait()
            found["ratio_ingest_vs_bare"] = round(found["ingest"]["requests_per_s"]  # type: ignore[index]
                                                  / results["bare"]["requests_per_s"], 3)  # type: ignore[index]
            if client == "confluent-kafka":
                found["broker_ack_at_half_rate"] = broker_ack_at_rate(
                    kafka.bootstrap_servers, found["at_half_rate"]["rate"], args.seconds, len(body))  # type: ignore[index]
            clients[client] = found
            half = found["at_half_rate"]
            print(f"{client}: {found['ingest']['requests_per_s']:.0f} req/s "  # type: ignore[index]
                  f"({found['ratio_ingest_vs_bare']:.2f}x bare), batch {found['batch_events_per_s']:,} events/s; "
                  f"at half rate ({half['rate']}/s) p50 {half['p50_ms']} ms, p99 {half['p99_ms']} ms; sessions "  # type: ignore[index]
                  f"{found['ratio_sessions_vs_requests']:.2f}x requests single, "
                  f"{found['ratio_session_batch_vs_request_batch']:.2f}x batch", flush=True)
    results["clients"] = clients
    results.update(clients[DEFAULT_CLIENT] if DEFAULT_CLIENT in clients else next(iter(clients.values())))
    out = ROOT / "bench" / "results" / "ingest.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'target':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name in ("bare", "ingest", "sessions"):
        r = results[name]
        print(f"{name:<8} {r['requests_per_s']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['non_2xx']:>8}")  # type: ignore[index]
    if floor := results.get("broker_ack_at_half_rate"):
        print(f"the broker alone at {floor['rate']}/s (a bare producer, acks=all): "  # type: ignore[index]
              f"p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms to the acknowledgement")  # type: ignore[index]
    print(f"ingest / bare = {results['ratio_ingest_vs_bare']:.2f}; batch endpoint {results['batch_events_per_s']:,} events/s; "
          f"ingest peak RSS {results['ingest_peak_rss_mb']} MB  (written to {out.relative_to(ROOT)})")
    print(f"sessions / requests = {results['ratio_sessions_vs_requests']:.2f} single, "
          f"{results['ratio_session_batch_vs_request_batch']:.2f} batch ({results['session_batch_events_per_s']:,} events/s)")


if __name__ == "__main__":
    main()
