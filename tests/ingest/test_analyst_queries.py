"""The README's example queries and the rebuild procedure, run against loaded data so the docs cannot rot."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from o11y.embedded import EmbeddedKafka
from support.events import event_messages
from support.kafka_io import produce
from support.loader_harness import count, loader_settings, running_loader
from support.waiting import wait_until

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def sql_blocks(title: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)```", readme_section(title), flags=re.S)


EXAMPLES = sql_blocks("Querying the data")


@pytest.fixture(scope="module")
def loaded(kafka: EmbeddedKafka, clickhouse: Any) -> str:
    topic = "analyst-examples"
    records = (
        event_messages(30, "analyst-client")
        + event_messages(10, "analyst-client", statusCode=503, provider="anthropic", resolvedModel="claude-opus")
        + event_messages(10, "analyst-client", isAnonymous=True, kiloUserId="anon:1.2.3.4", completeRequestMs=16000)
    )
    produce(kafka.bootstrap_servers, topic, records)
    with running_loader(loader_settings(kafka.bootstrap_servers, topic, "analysts"), clickhouse):
        assert wait_until(
            lambda: count(clickhouse, "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = 'analyst-examples'") == 50
        )
    return topic


def test_the_readme_has_the_six_required_examples_and_more() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("sql", EXAMPLES, ids=[f"example-{i + 1}" for i in range(len(EXAMPLES))])
def test_each_readme_example_query_runs_and_returns_rows(loaded: str, clickhouse: Any, sql: str) -> None:
    result = clickhouse.query(sql)
    assert result.result_rows, "the example returned nothing on loaded data"


def test_rebuilding_from_the_log_restores_exact_counts(kafka: EmbeddedKafka, clickhouse: Any, loaded: str) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    in_kafka = set(admin.list_topics())
    admin.close()
    per_topic = "SELECT kafka_topic, count(), sum(total_tokens) FROM o11y.api_metrics GROUP BY kafka_topic ORDER BY kafka_topic"
    before = [
        row for row in clickhouse.query(per_topic).result_rows if row[0] in in_kafka
    ]  # rows typed in by hand cannot come back
    assert loaded in [row[0] for row in before]
    for statement in sql_blocks("Loading into ClickHouse")[0].strip().split(";"):
        if statement.strip():
            clickhouse.command(statement)
    assert count(clickhouse, "SELECT count() FROM o11y.api_metrics") == 0
    def reloaded(topic: str, rows: int) -> bool:
        return count(clickhouse, "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = {t:String}", t=topic) >= rows

    for topic, rows, _ in before:
        with running_loader(loader_settings(kafka.bootstrap_servers, topic, f"rebuild-{topic}"), clickhouse):
            assert wait_until(partial(reloaded, topic, rows))
    assert clickhouse.query(per_topic).result_rows == before
    assert count(clickhouse, "SELECT sum(requests) FROM o11y.api_metrics_1m") == sum(rows for _, rows, _ in before)
