"""`o11y alert --once [--at] [--dry-run]`, `o11y alert` and `o11y slo check` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.chdb_query import query_path
from support.processes import clean_env

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own

TESTS = Path(__file__).resolve().parents[1]

SEED_DATA = """
import sys
from datetime import datetime, timezone
sys.path.insert(0, sys.argv[2])
from storage.schema import migrate
from runtime.clickhouse import connect
from support.timeline import Timeline

c = connect(sys.argv[1])
if sys.argv[3] == "migrate":
    migrate(c)
    t = Timeline(c, datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc))
    t.traffic(0, 3, 100, 0.3)
"""


def o11y(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "o11y.cli", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def seeded(tmp_path: Path) -> str:
    """A chDB path with the schema and three minutes of 30 % errors at 2030-06-01 12:00."""
    path = tmp_path / "ch"
    out = subprocess.run([sys.executable, "-c", SEED_DATA, f"chdb://{path}", str(TESTS), "migrate"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return str(path)


def alert_env(path: str, redis_server: Any, slack: Any) -> dict[str, str]:
    return clean_env(O11Y_CLICKHOUSE_URL=f"chdb://{path}", O11Y_REDIS_URL=redis_server.url.replace("/0", "/5"),
                   O11Y_SLACK_PAGE_WEBHOOK_URL=slack.url("page"), O11Y_SLACK_TICKET_WEBHOOK_URL=slack.url("ticket"))


def decisions(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]  # every line of stdout is JSON


def test_alert_once_prints_json_lines_and_pages_slack(seeded: str, redis_server: Any, slack: Any) -> None:
    out = o11y("alert", "--once", "--at", "2030-06-01T12:03:05Z", env=alert_env(seeded, redis_server, slack))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = decisions(out.stdout)
    assert ("fired", "page", "error_rate", "5m/1m") in [(d["decision"], d["severity"], d["slo"], d["tier"]) for d in lines]
    assert ("delivered", "page") in [(d["decision"], d["severity"]) for d in lines]
    assert [s for s, _ in slack.posts] == ["page"]
    again = o11y("alert", "--once", "--at", "2030-06-01T12:03:05Z", env=alert_env(seeded, redis_server, slack))
    assert again.returncode == 0 and decisions(again.stdout) == [], "a minute is judged once: an --at in the past re-pages nobody"


def test_a_dry_run_sends_nothing_and_writes_nothing(seeded: str, redis_server: Any, slack: Any) -> None:
    from redis import Redis

    redis = Redis.from_url(redis_server.url.replace("/0", "/6"))
    redis.flushdb()
    env = {**alert_env(seeded, redis_server, slack), "O11Y_REDIS_URL": redis_server.url.replace("/0", "/6")}
    out = o11y("alert", "--once", "--at", "2030-06-01T12:03:05Z", "--dry-run", env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert ("fired", "page") in [(d["decision"], d["severity"]) for d in decisions(out.stdout)]
    assert ("dry_run", "page") in [(d["decision"], d["severity"]) for d in decisions(out.stdout)]
    assert "would send page to slack-page (slack_webhook), open:0: :rotating_light: PAGE — LLM Error Rate SLO Breach" \
        in out.stderr
    assert '"blocks"' not in out.stderr and "of requests failed" in out.stderr, "the message in words, not Block Kit"
    assert slack.posts == [] and redis.dbsize() == 0
    counts = query_path(seeded, "SELECT (SELECT count() FROM o11y.alert_events), (SELECT count() FROM o11y.incidents), "
                                "(SELECT count() FROM o11y.alert_ticks)")
    assert counts == [[0, 0, 0]]


def test_alert_refuses_to_start_without_its_webhooks(seeded: str, redis_server: Any) -> None:
    env = clean_env(O11Y_CLICKHOUSE_URL=f"chdb://{seeded}", O11Y_REDIS_URL=redis_server.url,
                  O11Y_SLACK_PAGE_WEBHOOK_URL="https://hooks.slack.invalid/x")  # the ticket one misspelt, say
    for args in (("alert",), ("alert", "--once")):
        out = o11y(*args, env=env)
        assert out.returncode == 2
        assert "O11Y_SLACK_TICKET_WEBHOOK_URL must be set: o11y alert never prints pages instead" in out.stderr
        assert out.stdout == ""


def test_a_held_chdb_path_or_a_missing_schema_is_one_clear_line(
    tmp_path: Path, redis_server: Any, slack: Any, seeded: str
) -> None:
    hold = f"from runtime.clickhouse import connect; c = connect('chdb://{seeded}'); print('held', flush=True); input()"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:  # another process holds the path, as `o11y dev` would
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        held = o11y("alert", "--once", "--dry-run", env=alert_env(seeded, redis_server, slack))
    finally:
        holder.communicate("\n", timeout=30)
    assert held.returncode == 2 and "Traceback" not in held.stderr
    assert f"the ClickHouse data at {seeded} is in use by another o11y process (o11y dev?)" in held.stderr
    empty = tmp_path / "empty"
    made = subprocess.run(
        [sys.executable, "-c", SEED_DATA, f"chdb://{empty}", str(TESTS), "none"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    bare = o11y("alert", "--once", "--dry-run", env=alert_env(str(empty), redis_server, slack))
    assert bare.returncode == 2 and "Traceback" not in bare.stderr and "run `o11y migrate` first" in bare.stderr


def test_slo_check_prints_the_effective_slos_and_rejects_unreachable_ones(tmp_path: Path, seeded: str) -> None:
    good = o11y("slo", "check", env=clean_env())
    assert good.returncode == 0 and "generation_speed" in good.stdout and "api_metrics_1m" in good.stdout
    assert "freshness_guard: not checked (O11Y_CLICKHOUSE_URL is not set)" in good.stdout
    guarded = o11y("slo", "check", env=clean_env(O11Y_CLICKHOUSE_URL=f"chdb://{seeded}"))
    assert "freshness_guard: inactive: no loader progress recorded" in guarded.stdout
    bad = tmp_path / "slo.yaml"
    bad.write_text(
        "page_clients: [kilo-gateway]\npage_cooldown_seconds: 900\nticket_cooldown_seconds: 14400\n"
        "slos:\n- name: errors\n  title: Errors\n  objective: 0.95\n  min_requests: 10\n  error_statuses: ['>=500']\n"
        "  windows: [{severity: page, long_minutes: 5, short_minutes: 1, burn_rate: 30}]\n"
    )
    out = o11y("slo", "check", env=clean_env(O11Y_SLO_CONFIG=str(bad)))
    assert out.returncode == 2
    assert (
        "burn rate 30 can never be reached" in out.stderr and "highest possible burn rate (every request bad) is 20" in out.stderr
    )
