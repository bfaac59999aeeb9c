"""The SLO period's counts with settled days and hours kept: always what one read of the whole period says."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from alerting.rules.period_cache import Period, PeriodCache, blocks
from alerting.rules.window_query import parse_period, period_query
from schemas.alert_policy import DEFAULT_POLICY, default_policy, policy_from_document
from support.timeline import unique_base


def insert(clickhouse: Any, client: str, start: datetime, minutes: int, per_minute: int) -> None:
    """`per_minute` requests a minute on two models; every 7th minute of `slow` is slow, every 50th request fails."""
    clickhouse.command(
        "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
        " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
        " complete_request_ms, status_code, kafka_topic, kafka_partition, kafka_offset) "
        "SELECT generateUUIDv4(), toDateTime64({start:DateTime64(3)}, 3, 'UTC') "
        "+ toIntervalSecond(intDiv(number, {per:UInt32}) * 60 + number % {per:UInt32}), "
        "{client:String}, 'u', false, false, false, 'openai', 'm', "
        "if(number % 2 = 0, 'fast', 'slow'), [], [], 100, "
        "if(number % 2 = 1 AND intDiv(number, {per:UInt32}) % 7 = 0, 9000, 800), if(number % 50 = 3, 500, 200), 't', 0, number "
        "FROM numbers({n:UInt64})",
        parameters={"start": start.replace(tzinfo=None), "per": per_minute, "client": client, "n": minutes * per_minute})


def direct(clickhouse: Any, policy: Any, end: datetime) -> Period:
    result = clickhouse.query(period_query(policy, end, policy.period_days))
    names = list(result.column_names)
    first = {row[:3]: row[names.index("first_minute")].replace(tzinfo=timezone.utc) for row in result.result_rows}
    return Period(parse_period(policy, names, result.result_rows), first)


def test_kept_blocks_and_fresh_edges_add_up_to_one_read_of_the_period(clickhouse: Any) -> None:
    client = f"period-{uuid.uuid4().hex[:6]}"
    base = unique_base()
    policy = policy_from_document({**DEFAULT_POLICY, "period_days": 2})
    insert(clickhouse, client, base, 3 * 1440, 20)
    cache, reads = PeriodCache(), []

    def query(sql: str) -> Any:
        reads.append(sql)
        return clickhouse.query(sql)

    def mine(period: Period) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """This test's routes: their counts and their first minute with requests."""
        return ({d: c for d, c in period.counts.items() if d[2] == client},
                {d: at for d, at in period.first_seen.items() if d[2] == client})

    end = base + timedelta(days=2, hours=13, minutes=17)
    assert mine(cache.period(query, policy, end, end)) == mine(direct(clickhouse, policy, end))
    assert set(mine(cache.period(query, policy, end, end))[1].values()) == {end - timedelta(days=2)}, "seen all along"
    first_reads = len(reads)
    later = end + timedelta(hours=3, minutes=2)
    insert(clickhouse, client, end - timedelta(minutes=5), 10, 3)  # late rows in a minute not yet settled
    assert mine(cache.period(query, policy, later, later)) == mine(direct(clickhouse, policy, later))
    assert len(reads) - first_reads <= 4, "a warm read asks for the new hours and the two edges only"
    assert any("GROUP BY provider, resolved_model, client_name, hour" in sql for sql in reads[first_reads:])

    stricter = policy_from_document({**DEFAULT_POLICY, "period_days": 2, "overrides": [
        {"match": {"model": "slow"}, "objective": "0.9999"}]})
    assert mine(cache.period(query, stricter, later, later)) == mine(direct(clickhouse, stricter, later))


def test_a_period_is_cut_into_whole_days_whole_hours_and_minutes() -> None:
    start = datetime.fromisoformat("2031-01-01T22:30:00+00:00")
    found, minutes = blocks(start, datetime.fromisoformat("2031-01-04T01:45:00+00:00"))
    assert [(b.isoformat()[5:16], grain) for b, grain in found] == [
        ("01-02T00:00", 86_400), ("01-03T00:00", 86_400), ("01-01T23:00", 3600), ("01-04T00:00", 3600)]
    assert [(a.isoformat()[11:16], b.isoformat()[11:16]) for a, b in minutes] == [("22:30", "23:00"), ("01:00", "01:45")]
    assert default_policy().period_days == 30
