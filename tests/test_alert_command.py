"""`o11y alert --once --at` and `o11y slo check` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SEED_DATA = """
import sys
from datetime import datetime, timezone
sys.path.insert(0, sys.argv[2])
from ingest.clickhouse_migrations import migrate
from o11y.clickhouse import connect
from timeline import Timeline
c = connect(sys.argv[1])
migrate(c)
t = Timeline(c, datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc))
t.traffic(0, 3, 100, 0.3)
"""


def env_for(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("O11Y_")}
    env.update(values)
    return env


def test_alert_once_prints_each_decision_as_a_json_line(tmp_path: Path, redis_server: Any) -> None:
    url = f"chdb://{tmp_path / 'ch'}"
    seeded = subprocess.run([sys.executable, "-c", SEED_DATA, url, str(Path(__file__).parent)], capture_output=True, text=True, timeout=120)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    env = env_for(O11Y_CLICKHOUSE_URL=url, O11Y_REDIS_URL=redis_server.url.replace("/0", "/5"))
    out = subprocess.run([sys.executable, "-m", "o11y.cli", "alert", "--once", "--at", "2030-06-01T12:03:05Z"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{\"tick\"")]
    assert ("fired", "page", "error_rate", "5m/1m") in [(d["decision"], d["severity"], d["slo"], d["tier"]) for d in lines]
    assert ("delivered", "page") in [(d["decision"], d["severity"]) for d in lines]
    assert "[PAGE] :rotating_light: PAGE — LLM Error Rate SLO Breach" in out.stdout  # no webhook: the console


def test_slo_check_prints_the_effective_slos_and_rejects_unreachable_ones(tmp_path: Path) -> None:
    good = subprocess.run([sys.executable, "-m", "o11y.cli", "slo", "check"], env=env_for(), capture_output=True, text=True)
    assert good.returncode == 0 and "latency_p90" in good.stdout and "api_metrics_1m" in good.stdout
    bad = tmp_path / "slo.yaml"
    bad.write_text("page_clients: [kilo-gateway]\npage_cooldown_seconds: 900\nticket_cooldown_seconds: 14400\n"
                   "slos:\n- name: errors\n  title: Errors\n  objective: 0.95\n  min_requests: 10\n  error_statuses: ['>=500']\n"
                   "  windows: [{severity: page, long_minutes: 5, short_minutes: 1, burn_rate: 30}]\n")
    out = subprocess.run([sys.executable, "-m", "o11y.cli", "slo", "check"], env=env_for(O11Y_SLO_CONFIG=str(bad)),
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "burn rate 30 can never be reached" in out.stderr and "highest possible burn rate (every request bad) is 20" in out.stderr
