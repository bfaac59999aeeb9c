"""The analysts' example queries and the operators' rebuild procedure, run against loaded data so the docs cannot rot."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest

from o11y.embedded import EmbeddedKafka
from schemas.session_event import SESSIONS
from support.docs_pages import code_blocks, doc_page
from support.events import event_messages, session_messages
from support.kafka_io import produce
from support.loader_harness import count, loader_settings, running_loader
from support.waiting import wait_until

EXAMPLES = [sql for page in ("analysts/tables.md", "analysts/example-queries.md") for sql in code_blocks(doc_page(page), "sql")]
REBUILD = code_blocks(doc_page("operators/rebuilding.md"), "sql")[0]


@pytest.fixture(scope="module")
def loaded(kafka: EmbeddedKafka, clickhouse: Any) -> str:
    topic = "analyst-examples"
    records = (
        event_messages(30, "analyst-client")
        + event_messages(10, "analyst-client", statusCode=503, provider="anthropic", resolvedModel="claude-opus")
        + event_messages(10, "analyst-client", isAnonymous=True, kiloUserId="anon:1.2.3.4", completeRequestMs=16000)
    )
    produce(kafka.bootstrap_servers, topic, records)
    sessions = f"{topic}-sessions"  # the session examples read sessions: a few of them, through their own loader
    produce(kafka.bootstrap_servers, sessions, session_messages(5, "analyst-client", toolErrorsByType={})
            + session_messages(2, "analyst-client", toolErrorsByType={}, terminationReason="error", platform="cli"))
    settings = loader_settings(kafka.bootstrap_servers, topic, "analysts", kafka_session_topic=sessions)
    with running_loader(settings, clickhouse), running_loader(settings, clickhouse, kind=SESSIONS):
        assert wait_until(
            lambda: count(clickhouse, "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = 'analyst-examples'") == 50
        )
        assert wait_until(lambda: count(clickhouse, f"SELECT count() FROM o11y.session_metrics "
                                                    f"WHERE kafka_topic = '{sessions}'") == 7)
    return topic


def test_the_analysts_pages_have_the_six_required_examples_and_more() -> None:
    assert len(code_blocks(doc_page("analysts/example-queries.md"), "sql")) >= 6


@pytest.mark.parametrize("sql", EXAMPLES, ids=[f"example-{i + 1}" for i in range(len(EXAMPLES))])
def test_each_example_query_of_the_docs_runs_and_returns_rows(loaded: str, clickhouse: Any, sql: str) -> None:
    result = clickhouse.query(sql)
    assert result.result_rows, "the example returned nothing on loaded data"


def test_the_rebuild_empties_every_table_the_raw_rows_fill(clickhouse: Any) -> None:
    """A table a view fills from the raw rows and left full counts each event twice after the rebuild, or (event ids)
    leaves out events that sit at other offsets now."""
    views = clickhouse.query("SELECT create_table_query FROM system.tables WHERE database = 'o11y' "
                             "AND engine = 'MaterializedView'").result_rows
    filled = {re.search(r" TO o11y\.(\w+)", query).group(1) for (query,) in views  # type: ignore[union-attr]
              if re.search(r"FROM o11y\.api_metrics\b", query)}
    emptied = set(re.findall(r"TRUNCATE TABLE o11y\.(\w+)", REBUILD))
    assert filled and {"api_metrics", *filled} <= emptied, {"api_metrics", *filled} - emptied


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
    for statement in REBUILD.strip().split(";"):
        if statement.strip():
            clickhouse.command(statement)
    assert count(clickhouse, "SELECT count() FROM o11y.api_metrics") == 0
    def reloaded(topic: str, rows: int) -> bool:
        return count(clickhouse, "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = {t:String}", t=topic) >= rows

    for topic, rows, _ in before:
        with running_loader(loader_settings(kafka.bootstrap_servers, topic, f"rebuild-{topic}"), clickhouse):
            assert wait_until(partial(reloaded, topic, rows))
    assert clickhouse.query(per_topic).result_rows == before
    for rollup in ("api_metrics_1m", "usage_1h", "usage_1d"):  # every table a view fills from the raw rows, once
        assert count(clickhouse, f"SELECT sum(requests) FROM o11y.{rollup}") == sum(rows for _, rows, _ in before), rollup
