"""The documentation site keeps to the code: its references are generated from it, and its pages name what it has."""

from __future__ import annotations

import contextlib
import io
import json
import re
from typing import Any

import pytest
import yaml

from alerting.policy.routing_words import routing_words
from o11y.cli import build_parser
from o11y.docs.__main__ import schema_tables
from o11y.docs.reference_pages import REFERENCE, api_pages, schema_page
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, policy_from_document
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


RECEIVERS = "on-call/receivers.md"
GOLDEN = ROOT / "tests" / "alerting" / "golden"


def receivers_examples() -> list[str]:
    """The policy fragments of the receivers page and of the README's section on it."""
    readme = (ROOT / "README.md").read_text().split("## Receivers and routes", 1)[1].split("\n## ", 1)[0]
    return code_blocks(readme, "yaml") + code_blocks(doc_page(RECEIVERS), "yaml")


def with_receivers(example: str) -> AlertPolicy:
    return policy_from_document({**DEFAULT_POLICY, **yaml.safe_load(example)})


def test_every_receivers_example_is_a_policy_o11y_loads_and_every_kind_has_one() -> None:
    kinds = {receiver.kind for example in receivers_examples() for receiver in with_receivers(example).receivers}
    assert kinds == {"slack_webhook", "slack_app", "pagerduty", "webhook"}


def test_the_receivers_page_says_where_notifications_go_as_o11y_slo_check_does() -> None:
    """The words shown are `o11y slo check`'s for the example just above them."""
    found = re.search(r"```yaml\n((?:(?!```).)*)```(?:(?!```).)*```text\n(Receivers(?:(?!```).)*)```", doc_page(RECEIVERS), re.S)
    assert found, "a yaml example followed by the words o11y slo check prints for it"
    example, words = found.groups()
    assert words.splitlines() == routing_words(with_receivers(example))


def golden(*prefixes: str) -> list[Any]:
    return [json.loads(path.read_text()) for prefix in prefixes for path in sorted(GOLDEN.glob(f"{prefix}*.json"))]


def part_of(shown: Any, whole: Any) -> bool:
    """Whether a cut-down example says only what `whole` says: some of its keys with the same values, lists item by item."""
    if isinstance(shown, dict):
        return isinstance(whole, dict) and all(key in whole and part_of(value, whole[key]) for key, value in shown.items())
    if isinstance(shown, list):
        return isinstance(whole, list) and len(shown) <= len(whole) and all(map(part_of, shown, whole))
    return bool(shown == whole)


def test_the_messages_the_receivers_page_shows_are_cut_from_the_golden_files() -> None:
    page = doc_page(RECEIVERS)
    texts = {body["text"] for body in golden("slack_")}
    quoted = [line for block in code_blocks(page, "text") for line in block.splitlines() if line.startswith(":")]
    assert quoted and [line for line in quoted if line not in texts] == []
    bodies = golden("pagerduty_", "alertmanager_")
    shown = [json.loads(block) for block in code_blocks(page, "json")]
    assert len(shown) == 2 and [body for body in shown if not any(part_of(body, whole) for whole in bodies)] == []
