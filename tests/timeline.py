"""Building alerting timelines: rows at chosen minutes, straight into the real raw table (the rollup follows)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any


def unique_base() -> datetime:
    """A minute far from other tests' data (and from real time), so windows only see this test's rows."""
    offset = uuid.uuid4().int % 50_000
    return datetime(2031, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=offset * 400)


class Timeline:
    def __init__(self, clickhouse: Any, base: datetime | None = None) -> None:
        self.clickhouse = clickhouse
        self.base = base or unique_base()

    def at(self, minute: int, second: int = 5) -> datetime:
        """The tick time `minute` minutes after the base (ticks run at :05)."""
        return self.base + timedelta(minutes=minute, seconds=second)

    def requests(self, minute: int, count: int, *, status: int = 200, complete_ms: int = 300, ttfb_ms: int = 50,
                 client: str = "kilo-gateway", provider: str = "openai", model: str = "gpt-4", byok: bool = False) -> None:
        if count <= 0:
            return
        start = self.base + timedelta(minutes=minute)
        self.clickhouse.command(
            "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
            " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
            " complete_request_ms, status_code, kafka_topic, kafka_partition, kafka_offset) "
            "SELECT generateUUIDv4(), toDateTime64({start:DateTime64(3)}, 3, 'UTC') + toIntervalMillisecond(intDiv(number * 60000, {count:UInt64})),"
            " {client:String}, 'user', false, true, {byok:Bool}, {provider:String}, {model:String}, {model:String},"
            " [], [], {ttfb:UInt64}, {complete:UInt64}, {status:UInt16}, 'timeline', 0, 0 FROM numbers({count:UInt64})",
            parameters={"start": start.replace(tzinfo=None), "client": client, "byok": byok, "provider": provider,
                        "model": model, "ttfb": ttfb_ms, "complete": complete_ms, "status": status, "count": count},
        )

    def traffic(self, first: int, last: int, per_minute: int, bad_fraction: float = 0.0, *, bad_status: int = 500,
                **kwargs: Any) -> None:
        """`per_minute` requests in each minute of [first, last), a fraction of them errors."""
        for minute in range(first, last):
            bad = round(per_minute * bad_fraction)
            self.requests(minute, per_minute - bad, **kwargs)
            self.requests(minute, bad, status=bad_status, **kwargs)
