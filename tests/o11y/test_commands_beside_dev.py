"""`o11y status`, `silence`, `slo baseline` and `slo backtest` while another process holds ClickHouse, as under `o11y dev`:
through its API when one answers, else straight to the dev chDB, and one plain line when neither can be asked."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN
from support.live_server import LiveServer
from support.processes import clean_env
from support.timeline import Timeline

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own

HOLD = """
import sys, time
from runtime.clickhouse import connect
from storage.schema import migrate

client = connect(sys.argv[1])  # kept: the engine, and its lock, live as long as a client does
migrate(client)
print("held", flush=True)
time.sleep(600)
"""


def o11y(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "o11y.cli", *args], env=env, capture_output=True, text=True, timeout=180)


def test_the_commands_go_through_a_running_api_while_this_process_holds_clickhouse(clickhouse: Any, tmp_path: Path) -> None:
    model = f"cmd-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 100, model=model)
    timeline.traffic(20, 30, 100, 0.3, model=model)
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dash": [SecretStr(READ_TOKEN)]})
    with LiveServer(lambda: create_api_app(settings, default_policy(), clickhouse, CollectorRegistry())) as server:
        env = clean_env(O11Y_API_PORT=str(server.port), O11Y_HTTP_HOST="127.0.0.1", O11Y_DATA_DIR=str(tmp_path),
                        O11Y_TOKEN=ADMIN_TOKEN)
        status = o11y("status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        assert {"end", "period_days", "freshness", "count", "statuses"} <= set(json.loads(status.stdout))
        assert o11y("status", env=env).stdout.startswith("SLO status at ")

        added = o11y("silence", "add", "--model", model, "--ends", "2h", "--comment", "maintenance", env=env)
        assert added.returncode == 0, added.stderr
        silence_id = added.stdout.split()[1]
        listed = json.loads(o11y("silence", "list", "--json", env=env).stdout)
        assert (silence_id, "active", "alice") in [(s["id"], s["state"], s["created_by"]) for s in listed]
        assert o11y("silence", "expire", silence_id, env=env).returncode == 0
        again = o11y("silence", "expire", silence_id, env=env)
        assert again.returncode == 2 and "already ended" in again.stderr and "Traceback" not in again.stderr

        baseline = o11y("slo", "baseline", "--model", model, "--json", env=env)
        assert baseline.returncode == 0, baseline.stderr
        assert json.loads(baseline.stdout)["selector"]["model"] == model
        assert o11y("slo", "baseline", "--model", model, env=env).stdout.startswith(f"model {model}, until ")

        window = ("--from", timeline.at(0, 0).isoformat(), "--to", (timeline.at(60, 0)).isoformat())
        backtest = o11y("slo", "backtest", *window, "--json", env=env)
        assert backtest.returncode == 0, backtest.stderr
        opened = [(i["severity"], i["model"], i["opened"]) for i in json.loads(backtest.stdout)["current"]["incidents"]]
        assert ("page", model, f"{timeline.at(21, 0):%Y-%m-%dT%H:%MZ}") in opened
        candidate = tmp_path / "candidate.yaml"
        candidate.write_text(
            "page_clients: [kilo-gateway]\npage_cooldown_seconds: 900\nticket_cooldown_seconds: 14400\n"
            "defaults: {min_requests: 10, windows: [{severity: page, long_minutes: 5, short_minutes: 1, burn_rate: 1.9}]}\n"
            "slos: [{name: error_rate, title: Error Rate, kind: error_rate, error_statuses: ['>=400'], objective: '0.5'}]\n")
        compared = o11y("slo", "backtest", *window, "--policy", str(candidate), env=env)
        assert compared.returncode == 0, compared.stderr
        assert "policy candidate: 0 incident openings" in compared.stdout and "difference: 0 added" in compared.stdout
        too_long = o11y("slo", "backtest", "--from", "40d", env=env)
        assert too_long.returncode == 2 and "at most 31 days" in too_long.stderr


@pytest.fixture
def dev_data(tmp_path: Path) -> Path:
    """A data dir with a migrated chDB under it, as `o11y dev` leaves it."""
    data = tmp_path / "var"
    env = clean_env(O11Y_CLICKHOUSE_URL=f"chdb://{data / 'chdb'}")
    migrated = subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, capture_output=True, text=True,
                              timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    return data


@pytest.fixture
def held(dev_data: Path) -> Iterator[Path]:
    """Another process holds the dev chDB, as `o11y dev` does."""
    tests = Path(__file__).resolve().parents[1]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, f"chdb://{dev_data / 'chdb'}"], stdout=subprocess.PIPE,
                              text=True, env={**clean_env(), "PYTHONPATH": f"{tests.parent}:{tests}"})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield dev_data
    finally:
        holder.kill()
        holder.wait()


COMMANDS = [("status",), ("silence", "list"), ("slo", "baseline", "--model", "gpt-4"), ("slo", "backtest", "--from", "1h"),
            ("silence", "add", "--model", "gpt-4", "--ends", "1h", "--comment", "c"), ("sql", "SELECT 1")]


def test_without_an_api_the_commands_open_the_dev_chdb_themselves(dev_data: Path) -> None:
    env = clean_env(O11Y_DATA_DIR=str(dev_data), O11Y_API_PORT="9")
    for command in COMMANDS:
        ran = o11y(*command, env=env)
        assert ran.returncode == 0, (command, ran.stderr)


def test_a_chdb_held_by_another_process_is_one_plain_line(held: Path) -> None:
    env = clean_env(O11Y_DATA_DIR=str(held), O11Y_API_PORT="9")
    named = {**env, "O11Y_CLICKHOUSE_URL": f"chdb://{held / 'chdb'}"}
    for command, where in [(c, env) for c in COMMANDS] + [(c, named) for c in COMMANDS[:3]]:
        ran = o11y(*command, env=where)
        assert ran.returncode == 2, (command, ran.stdout, ran.stderr)
        assert ran.stderr.strip().count("\n") == 0 and "in use by another o11y process" in ran.stderr, (command, ran.stderr)
        assert "DB::Exception" not in ran.stderr and "Code:" not in ran.stderr, (command, ran.stderr)
