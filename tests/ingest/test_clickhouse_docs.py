"""The docs cannot drift: the README's field and column tables are what the model and `DESCRIBE` say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemas.field_table import field_table
from storage.catalog import TABLES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def described_table(clickhouse: Any, table: str) -> str:
    """The README's table for `table`, rendered from `DESCRIBE` (name, type, default kind, comment)."""
    rows = clickhouse.query(f"DESCRIBE TABLE o11y.{table}").named_results()
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for row in rows:
        kind = f" ({row['default_type']})" if row["default_type"] else ""
        lines.append(f"| `{row['name']}` | {row['type']}{kind} | {row['comment']} |")
    return "\n".join(lines) + "\n"


DOCUMENTED = [t.name for t in TABLES if t.name in {"api_metrics", "api_metrics_1m", "silences", "slo_override_changes",
                                                   "revoked_sessions", "usage_1h", "usage_1d"}]


@pytest.mark.parametrize("table", sorted(DOCUMENTED))
def test_every_column_has_the_comment_the_readme_shows(clickhouse: Any, table: str) -> None:
    expected = described_table(clickhouse, table)
    assert "|  |" not in expected, f"a column of o11y.{table} has no comment:\n{expected}"
    assert expected in README, f"README's table for o11y.{table} should read:\n{expected}"


def test_the_readme_field_table_is_the_models() -> None:
    assert field_table() in README, f"README's field table should read:\n{field_table()}"


def test_every_field_of_the_schema_and_the_api_description_says_what_it_means() -> None:
    schema = json.loads(subprocess.run([sys.executable, "-m", "o11y.cli", "schema"], capture_output=True, text=True,
                                       check=True).stdout)
    for definition in [schema, *schema["$defs"].values()]:
        for name, prop in definition["properties"].items():
            assert prop.get("description"), name
            assert "title" not in prop, name
    from ingest.openapi import openapi_document

    event = openapi_document()["components"]["schemas"]["ApiMetricsEvent"]
    assert event["properties"]["ttfbMs"]["description"].startswith("Milliseconds")


def test_latency_counts_are_read_by_threshold_not_by_position(clickhouse: Any) -> None:
    counts = "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
    assert clickhouse.query(f"SELECT o11y_count_over({counts}, 5000), o11y_count_over({counts}, 100)").result_rows == [
        (3, 9)]
    with pytest.raises(Exception, match="counts only above"):
        clickhouse.query(f"SELECT o11y_count_over({counts}, 4000)")
