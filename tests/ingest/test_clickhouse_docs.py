"""The docs cannot drift: the site's field and column tables are what the model and `DESCRIBE` say."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from schemas.field_table import field_table
from storage.catalog import TABLES
from storage.table import DB
from support.docs_pages import doc_page

SCHEMA_PAGE = "reference/schema.md"
FIELDS_PAGE = "reference/ingest-api.md"
"""Generated (tests/o11y/test_docs_site.py keeps it current); gateways/event-fields.md includes its field table."""


def described_table(clickhouse: Any, table: str) -> str:
    """The docs' table for `table`, rendered from `DESCRIBE` (name, type, default kind, comment)."""
    rows = clickhouse.query(f"DESCRIBE TABLE {DB}.{table}").named_results()
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for row in rows:
        kind = f" ({row['default_type']})" if row["default_type"] else ""
        lines.append(f"| `{row['name']}` | {row['type']}{kind} | {row['comment']} |")
    return "\n".join(lines) + "\n"


DOCUMENTED = [table.name for table in TABLES]


@pytest.mark.parametrize("table", sorted(DOCUMENTED))
def test_every_column_has_the_comment_the_schema_reference_shows(clickhouse: Any, table: str) -> None:
    expected = described_table(clickhouse, table)
    assert "|  |" not in expected, f"a column of o11y.{table} has no comment:\n{expected}"
    assert expected in doc_page(SCHEMA_PAGE), f"{SCHEMA_PAGE}'s table for o11y.{table} should read:\n{expected}"


def test_the_field_table_gateway_teams_read_is_the_models() -> None:
    assert field_table() in doc_page(FIELDS_PAGE), f"{FIELDS_PAGE}'s field table should read:\n{field_table()}"


def test_every_field_of_the_schema_and_the_api_description_says_what_it_means() -> None:
    schema = json.loads(subprocess.run([sys.executable, "-m", "o11y.cli", "schema"], capture_output=True, text=True,
                                       check=True).stdout)
    for definition in [schema, *schema["$defs"].values()]:
        for name, prop in definition["properties"].items():
            assert prop.get("description"), name
            assert "title" not in prop, name
    from ingest.edge.openapi import openapi_document

    event = openapi_document()["components"]["schemas"]["ApiMetricsEvent"]
    assert event["properties"]["ttfbMs"]["description"].startswith("Milliseconds")


def test_latency_counts_are_read_by_threshold_not_by_position(clickhouse: Any) -> None:
    counts = "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
    assert clickhouse.query(f"SELECT o11y_count_over({counts}, 5000), o11y_count_over({counts}, 100)").result_rows == [
        (3, 9)]
    with pytest.raises(Exception, match="counts only above"):
        clickhouse.query(f"SELECT o11y_count_over({counts}, 4000)")
