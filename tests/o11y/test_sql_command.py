"""`o11y sql` as an analyst runs it: through a running API that holds the data, or straight to an idle ClickHouse."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from o11y.sql_command import render_table
from runtime.clickhouse import connect_raw
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN
from support.live_server import LiveServer
from support.processes import clean_env
from support.timeline import Timeline

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own


def o11y(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "o11y.cli", "sql", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_through_the_api_while_this_process_holds_the_data(clickhouse: Any, clickhouse_url: str, tmp_path: Path) -> None:
    model = f"sql-cli-{uuid.uuid4().hex[:6]}"
    Timeline(clickhouse).traffic(0, 2, 5, model=model)
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dash": [SecretStr(READ_TOKEN)]})
    query = f"SELECT resolved_model, count() AS n FROM o11y.api_metrics WHERE resolved_model = '{model}' GROUP BY 1"
    with LiveServer(lambda: create_api_app(settings, default_policy(), clickhouse, CollectorRegistry(),
                                           more_clients=lambda: connect_raw(clickhouse_url))) as server:
        env = clean_env(O11Y_TOKEN=ADMIN_TOKEN, O11Y_DATA_DIR=str(tmp_path))
        table = o11y(query, "--url", server.url, env=env)
        assert table.returncode == 0, table.stderr
        assert table.stdout.splitlines()[2].split() == [model, "10"] and table.stdout.endswith("(1 row)\n")
        assert f"from {server.url}" in table.stderr
        as_json = json.loads(o11y(query, "--url", server.url, "--format", "json", env=env).stdout)
        assert as_json["data"] == [[model, 10]]
        assert o11y(query, "--url", server.url, "--format", "csv", env=env).stdout == f'"resolved_model","n"\n"{model}",10\n'

        refused = o11y("DROP TABLE o11y.api_metrics", "--url", server.url, env=env)
        assert refused.returncode == 2 and "DROP TABLE is not a read" in refused.stderr and "Traceback" not in refused.stderr
        reader = o11y(query, "--url", server.url, env=clean_env(O11Y_TOKEN=READ_TOKEN, O11Y_DATA_DIR=str(tmp_path)))
        assert reader.returncode == 2 and "403" in reader.stderr
        assert ADMIN_TOKEN not in table.stderr + refused.stderr


def test_an_aggregate_state_is_named_in_the_table_not_printed_as_bytes(clickhouse: Any, clickhouse_url: str,
                                                                      tmp_path: Path) -> None:
    topic = f"sql-state-{uuid.uuid4().hex[:6]}"
    clickhouse.command(
        "INSERT INTO o11y.loader_progress (kafka_topic, kafka_partition, consumer_group, reached_end_at, updated_at, lag) "
        "SELECT {t:String}, 0, 'o11y-loader', now64(3, 'UTC'), now64(3, 'UTC'), argMaxState(toUInt64(7), now64(3, 'UTC'))",
        parameters={"t": topic})
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]})
    query = f"SELECT kafka_topic, lag, finalizeAggregation(lag) AS n FROM o11y.loader_progress WHERE kafka_topic = '{topic}'"
    with LiveServer(lambda: create_api_app(settings, default_policy(), clickhouse, CollectorRegistry(),
                                           more_clients=lambda: connect_raw(clickhouse_url))) as server:
        table = o11y(query, "--url", server.url, env=clean_env(O11Y_TOKEN=ADMIN_TOKEN, O11Y_DATA_DIR=str(tmp_path)))
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[2].split("  ") == [topic, "<argMax state: finalizeAggregation(lag)>", "7"]


def test_straight_to_clickhouse_when_no_api_runs(tmp_path: Path) -> None:
    url = f"chdb://{tmp_path / 'ch'}"
    env = clean_env(O11Y_CLICKHOUSE_URL=url, O11Y_DATA_DIR=str(tmp_path), O11Y_API_PORT="9")
    migrated = subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, capture_output=True, text=True,
                              timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    answer = o11y("SELECT max(version) AS v FROM o11y.schema_migrations", "--format", "tsv", env=env)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.splitlines()[1].isdigit() and "ClickHouse directly" in answer.stderr
    refused = o11y("INSERT INTO o11y.schema_migrations (version) VALUES (999)", env=env)
    assert refused.returncode == 2 and "INSERT INTO is not a read" in refused.stderr
    written = tmp_path / "answer.tsv"
    outfile = o11y(f"SELECT 1 INTO OUTFILE '{written}'", env=env)
    assert outfile.returncode == 2 and "INTO OUTFILE" in outfile.stderr and not written.exists()


@pytest.mark.parametrize(("value", "shown"), [(None, "NULL"), ("x" * 100, "x" * 59 + "…"), ([1, 2], "[1, 2]")])
def test_the_table_shows_nulls_lists_and_cuts_long_values(value: Any, shown: str) -> None:
    text = render_table({"meta": [{"name": "v", "type": "String"}], "data": [[value]], "rows": 1})
    assert text.splitlines()[2] == shown
