"""The documentation site keeps to the code: its references are generated from it, and its pages name what it has."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest

from o11y.cli import build_parser
from o11y.docs.__main__ import schema_tables
from o11y.docs.reference_pages import REFERENCE, api_pages, schema_page
from schemas.event_message import EventMessage
from schemas.idempotency_key import NAMESPACE
from schemas.request_event import message_fields
from support.docs_pages import DOCS, ROOT, code_blocks, doc_page

REGENERATE = "regenerate with: .venv/bin/python -m o11y.docs"


@pytest.mark.parametrize("name", sorted(api_pages()))
def test_each_api_reference_is_generated_from_the_openapi_document_its_service_serves(name: str) -> None:
    assert (REFERENCE / name).read_text() == api_pages()[name], REGENERATE


def test_the_schema_reference_is_generated_from_the_table_declarations() -> None:
    """(tests/ingest/test_clickhouse_docs.py holds every table of it to what a migrated ClickHouse describes)"""
    assert doc_page("reference/schema.md") == schema_page(schema_tables()), REGENERATE


def test_the_readme_holds_what_a_newcomer_needs_first_and_links_into_the_site() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    quickstart = readme.split("## Quickstart", 1)[1]
    commands = [line.split("#")[0].strip() for line in code_blocks(quickstart, "sh")[0].splitlines()]
    assert commands == ["make dev", "make test"]
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert links and [link for link in links if not (ROOT / link).is_file()] == []


def first_cells(page: str, heading: str) -> set[str]:
    """The names in backticks in the first column of the first table under `heading`."""
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    return {name for row in re.findall(r"^\| ([^|]+) \|", section, flags=re.M) for name in re.findall(r"`(\w+)`", row)}


def test_the_kafka_message_page_names_the_envelope_and_says_where_the_rest_comes_from() -> None:
    """The event's own fields follow its declaration (tests/schemas/test_request_event.py holds the message to it)."""
    page = doc_page("design/kafka-message.md")
    carried = {field.name for field in message_fields()}
    assert first_cells(page, "# The Kafka message") == set(EventMessage.model_fields) - carried
    assert "the event's fields" in page and "`clientSecret`, `eventId` and `ipAddress`" in page


@pytest.mark.parametrize("table", ["alert_events", "incidents"])
def test_the_alert_log_page_explains_every_column_of_its_tables(clickhouse: Any, table: str) -> None:
    columns = {row[0] for row in clickhouse.query(f"DESCRIBE TABLE o11y.{table}").result_rows}
    assert first_cells(doc_page("on-call/alert-log.md"), f"## `o11y.{table}`") == columns


def test_the_migrations_page_lists_every_version_the_schema_records(clickhouse: Any) -> None:
    applied = [row[0] for row in clickhouse.query("SELECT version FROM o11y.schema_migrations ORDER BY version").result_rows]
    assert '--8<-- "reference/schema.md:versions"' in doc_page("operators/migrations.md")
    listed = [int(n) for n in re.findall(r"^\| (\d+) \|", doc_page("reference/schema.md"), flags=re.M)]
    assert listed == applied


def subcommands(*words: str) -> list[str]:
    """The choices `o11y [words] --help` offers, e.g. `dev`, `demo`, … or `check`, `baseline`, `backtest`."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([*words, "--help"])
    found = re.search(r"\{([\w,-]+)\}", out.getvalue())
    assert found, out.getvalue()
    return found.group(1).split(",")


def test_every_command_is_on_the_commands_page() -> None:
    page = doc_page("commands.md")
    missing = [name for name in subcommands() if f"`o11y {name}" not in page]
    missing += [f"slo {name}" for name in subcommands("slo") if f"`o11y slo {name}" not in page]
    missing += [f"silence {name}" for name in subcommands("silence") if name not in page.split("`o11y silence ", 1)[1][:40]]
    assert missing == []


def test_the_idempotency_key_namespace_the_gateway_pages_give_is_the_one_ingest_uses() -> None:
    for page in ("gateways/retries.md", "gateways/batch.md"):
        assert f'uuid5(UUID("{NAMESPACE}")' in doc_page(page), page


def test_every_page_of_the_site_is_in_its_navigation() -> None:
    navigation = (ROOT / "mkdocs.yml").read_text()
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    assert {page for page in pages if page not in navigation} == set()
