"""deploy/grafana: every panel's SQL and every variable's query run against the real schema (chDB), macros expanded
as the ClickHouse data source expands them, and answer the numbers of a known history."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from support.timeline import Timeline

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "o11y-dashboard.json"


def expand(sql: str, start: str, end: str, values: dict[str, str]) -> str:
    """The data source's macros and `${var:singlequote}` variables, for a 60-second interval."""
    sql = re.sub(r"\$__timeInterval\((\w+)\)", r"toStartOfInterval(\1, INTERVAL 60 SECOND)", sql)
    sql = re.sub(r"\$__timeFilter\((\w+)\)",
                 rf"\1 >= toDateTime('{start}', 'UTC') AND \1 <= toDateTime('{end}', 'UTC')", sql)
    sql = sql.replace("$__interval_s", "60")
    sql = re.sub(r"\$\{(\w+):singlequote\}", lambda m: f"'{values[m.group(1)]}'", sql)
    assert "$" not in sql, f"an unexpanded macro or variable: {sql}"
    return sql


def test_every_panel_and_variable_runs_against_the_schema(clickhouse: Any) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    tag = uuid.uuid4().hex[:6]
    model, client = f"grafana-{tag}", f"client-{tag}"
    timeline = Timeline(clickhouse)
    # Streamed answers of 101 tokens: first byte at 50 ms, 750 ms of generation, 7.5 ms per output token.
    timeline.traffic(0, 10, 30, 0.1, model=model, client=client, complete_ms=800, output_tokens=101)
    start, end = f"{timeline.at(0, 0):%Y-%m-%d %H:00:00}", f"{timeline.at(10, 0):%Y-%m-%d %H:%M:%S}"  # whole hours for usage_1h
    values = {"provider": "openai", "model": model, "client": client}

    answers: dict[str, Any] = {}
    for panel in dashboard["panels"]:
        [target] = panel["targets"]
        assert target["datasource"]["type"] == "grafana-clickhouse-datasource"
        answers[panel["title"]] = clickhouse.query(expand(target["rawSql"], start, end, values))
    for variable in dashboard["templating"]["list"][1:]:
        found = {row[0] for row in clickhouse.query(variable["query"].replace("now()", f"toDateTime('{end}', 'UTC')"))
                 .result_rows}
        assert values[variable["name"]] in found, variable["name"]

    volume = answers["Requests per minute by provider"]
    assert volume.column_names == ("time", "provider", "requests_per_minute")
    assert [row[2] for row in volume.result_rows] == [30.0] * 10
    success = answers["Success rate by model"]
    assert [round(row[2], 6) for row in success.result_rows] == [0.9] * 10
    latency = answers["Complete latency p50 / p90 / p99 (successful requests)"]
    assert all(row[2:] == (800.0, 800.0, 800.0) for row in latency.result_rows)
    first_token = answers["Time to first token p50 / p90 / p99 (streamed successful requests)"]
    assert [row[2:] for row in first_token.result_rows] == [(50.0, 50.0, 50.0)] * 10
    speed = answers["Output tokens per second: p50, slowest 10 %, slowest 1 % (streamed answers of 16+ tokens)"]
    assert speed.column_names[2:] == ("p50", "slowest_10_pct", "slowest_1_pct")
    assert [tuple(round(v, 6) for v in row[2:]) for row in speed.result_rows] == [(round(1000 / 7.5, 6),) * 3] * 10
    burn = answers["Burn of the error budget, per hour (error_rate, objective 99.9 %)"]
    assert all(round(row[2], 6) == 100.0 for row in burn.result_rows)  # 10 % bad over a 0.1 % budget
    usage = answers["Usage by model and provider (tokens; cost is in /ui/usage and /v1/usage/stats)"]
    assert [(row[0], row[2], row[3], row[5]) for row in usage.result_rows] == [(model, 300, 30, 300 * 101)]
