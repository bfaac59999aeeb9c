"""`o11y silence`, `o11y slo baseline`, `o11y slo backtest` and `o11y slo check` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.processes import clean_env

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own

TESTS = Path(__file__).resolve().parents[1]

SEED = """
import sys
from datetime import datetime, timezone
sys.path.insert(0, sys.argv[2])
from storage.schema import migrate
from runtime.clickhouse import connect
from support.timeline import Timeline

c = connect(sys.argv[1])
migrate(c)
t = Timeline(c, datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc))
t.traffic(0, 60, 100)
t.traffic(20, 30, 100, 0.3)
t.traffic(0, 60, 20, model="free-tier")
"""


def o11y(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "o11y.cli", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An hour of traffic at 2030-06-01 12:00 with ten minutes of 30 % errors on gpt-4 from 12:20."""
    path = tmp_path_factory.mktemp("policy") / "ch"
    out = subprocess.run([sys.executable, "-c", SEED, f"chdb://{path}", str(TESTS)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return clean_env(O11Y_CLICKHOUSE_URL=f"chdb://{path}")


def test_silences_are_added_listed_and_expired_from_the_command_line(env: dict[str, str]) -> None:
    added = o11y("silence", "add", "--model", "gpt-4", "--ends", "2h", "--comment", "maintenance", "--author", "alice",
                 env=env)
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.split()[1]
    listed = json.loads(o11y("silence", "list", "--json", env=env).stdout)
    assert [(s["id"], s["state"], s["created_by"], s["model"]) for s in listed] == [(silence_id, "active", "alice", "gpt-4")]
    assert o11y("silence", "expire", silence_id, env=env).returncode == 0
    again = o11y("silence", "expire", silence_id, env=env)
    assert again.returncode == 2 and "already ended" in again.stderr
    assert "no silences active or pending" in o11y("silence", "list", env=env).stdout
    refused = o11y("silence", "add", "--ends", "2h", "--comment", "everything", env=env)
    assert refused.returncode == 2 and "at least one of slo, provider, model, client" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_baseline_and_backtest_answer_from_stored_data(env: dict[str, str]) -> None:
    baseline = o11y("slo", "baseline", "--model", "gpt-4", "--json", env={**env})
    assert baseline.returncode == 0, baseline.stderr
    body = json.loads(baseline.stdout)
    assert body["error_rate"]["7d"]["requests"] == 0  # 2030 is in the future: the last 7 days before now are empty

    backtest = o11y("slo", "backtest", "--from", "2030-06-01T12:00:00Z", "--to", "2030-06-01T13:00:00Z", "--json",
                    env=env)
    assert backtest.returncode == 0, backtest.stderr
    report = json.loads(backtest.stdout)["current"]
    opened = [(i["severity"], i["slo"], i["model"], i["opened"], i["resolved"]) for i in report["incidents"]]
    assert opened == [("page", "error_rate", "gpt-4", "2030-06-01T12:21Z", "2030-06-01T12:33Z")]
    assert report["notifications_total"] == {"page": 2, "ticket": 0}
    assert report["incidents"][0]["detection_delay_minutes"] == 1


def test_backtest_with_a_candidate_policy_and_check_in_words(env: dict[str, str], tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        "page_clients: [kilo-gateway]\npage_cooldown_seconds: 900\nticket_cooldown_seconds: 14400\n"
        "defaults: {min_requests: 10, windows: [{severity: page, long_minutes: 5, short_minutes: 1, burn_rate: 14.4}]}\n"
        "slos: [{name: error_rate, title: Error Rate, kind: error_rate, error_statuses: ['>=400'], objective: '0.99'}]\n"
        "overrides: [{match: {model: gpt-4}, objective: '0.5', windows: "
        "[{severity: page, long_minutes: 5, short_minutes: 1, burn_rate: 1.9}]}]\n")
    out = o11y("slo", "backtest", "--from", "2030-06-01T12:00:00Z", "--to", "2030-06-01T13:00:00Z", "--policy",
               str(candidate), env=env)
    assert out.returncode == 0, out.stderr
    assert "difference: 0 added, 1 removed, 0 changed" in out.stdout
    check = o11y("slo", "check", env={**env, "O11Y_SLO_CONFIG": str(candidate)})
    assert check.returncode == 0, check.stderr
    assert "Override model=gpt-4 (policy file) — model gpt-4\n" in check.stdout
    assert ("pages when at least 95 % of requests fail over both the last 5 minutes and the last minute, "
            "with at least 10 requests and 5 failures") in check.stdout
    assert "runtime_overrides: 0 in force" in check.stdout


def test_an_unreachable_override_in_the_file_is_refused_with_its_reason(env: dict[str, str], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("page_clients: [kilo-gateway]\npage_cooldown_seconds: 900\nticket_cooldown_seconds: 14400\n"
                      "defaults: {min_requests: 10, windows: [{severity: page, long_minutes: 5, short_minutes: 1, "
                      "burn_rate: 14.4}]}\nslos: [{name: error_rate, title: Error Rate, error_statuses: ['>=400'], "
                      "objective: '0.999'}]\noverrides: [{match: {model: 'free-*'}, objective: '0.9'}]\n")
    out = o11y("slo", "check", env={**env, "O11Y_SLO_CONFIG": str(policy)})
    assert out.returncode == 2
    assert "burn rate 14.4 can never be reached" in out.stderr and "objective 0.9 " in out.stderr


