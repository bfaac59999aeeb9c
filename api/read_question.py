"""What every read question over a time range shares (pure): its bounds, its parameters, and SQL bound piece by piece."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from alerting.rules.period_cache import floor_to
from schemas.api_metrics import MAX_NAME

INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21_600, "1d": 86_400}
MAX_SPAN = timedelta(days=400)
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2299, 12, 31, 23, 59, 59, 999_000, tzinfo=timezone.utc)
HELD = "ClickHouse's DateTime64 holds 1900-01-01T00:00:00Z to 2299-12-31T23:59:59.999Z"
MAX_POINTS = 10_000
DEFAULT_SPAN = timedelta(hours=24)

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]


def split_names(value: Any) -> Any:
    """`group_by=model,client` and `group_by=model&group_by=client` alike."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return tuple(part.strip() for item in value for part in str(item).split(",") if part.strip())
    return value


class TimeRange(BaseModel):
    """`[from, to)`: each within what ClickHouse holds, at most MAX_SPAN apart; by default the last 24 hours."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: AwareDatetime | None = Field(default=None, alias="from",
                                        description="Start, inclusive (ISO 8601 with offset; default: 24 h before `to`).")
    end: AwareDatetime | None = Field(default=None, alias="to", description="End, exclusive (default: now).")

    @field_validator("start", "end")
    @classmethod
    def _held(cls, value: datetime | None) -> datetime | None:
        """A time ClickHouse cannot hold is refused here, not by ClickHouse (a 503) or by Python's datetime (a 500)."""
        if value is None:
            return None
        try:
            utc = value.astimezone(timezone.utc)
        except OverflowError:
            raise ValueError(f"out of range: {HELD}") from None
        if not EARLIEST <= utc <= LATEST:
            raise ValueError(f"out of range: {HELD}")
        return utc

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.start is not None and self.end is not None:
            if self.start >= self.end:
                raise ValueError("from must be before to")
            if self.end - self.start > MAX_SPAN:
                raise ValueError(f"from and to are more than {MAX_SPAN.days} days apart")
        return self

    def span(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end) in UTC; the defaults filled in and checked like given values."""
        end = (self.end or now).astimezone(timezone.utc)
        if self.start is None and end - EARLIEST < DEFAULT_SPAN:
            raise ValueError(f"from (24 hours before to) is out of range: {HELD}")
        start = (self.start or end - DEFAULT_SPAN).astimezone(timezone.utc)
        if start >= end:
            raise ValueError("from must be before to (to defaults to now)")
        if end - start > MAX_SPAN:
            raise ValueError(f"from and to are more than {MAX_SPAN.days} days apart (to defaults to now)")
        return start, end


class ExportRange(TimeRange):
    """An export's range, both ends required, and its format."""

    start: AwareDatetime = Field(alias="from", description="Start, inclusive (ISO 8601 with offset).")
    end: AwareDatetime = Field(alias="to", description="End, exclusive.")
    format: Literal["ndjson", "csv"] = Field(default="ndjson", description="Newline-delimited JSON, or CSV with a header.")


Interval = Literal["1m", "5m", "15m", "1h", "6h", "1d"]


class Bucketed(TimeRange):
    """A time series: its bucket width and at most MAX_POINTS points (listed first among a question's bases)."""

    interval: Interval = Field(default="1h", description="Bucket width.")
    limit: int = Field(default=MAX_POINTS, ge=1, le=MAX_POINTS, description="At most this many points.")


def distinct(names: tuple[str, ...]) -> tuple[str, ...]:
    """A `group_by` that names no dimension twice."""
    if len(set(names)) != len(names):
        raise ValueError("group_by names a dimension twice")
    return names


@dataclass
class Sql:
    """A query and its parameters, built up piece by piece."""

    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, name: str, value: Any, kind: str) -> str:
        self.params[name] = value
        return f"{{{name}:{kind}}}"


def at(when: datetime, ms: bool = False) -> str:
    """A UTC time as a query parameter: `DateTime64(3)` with `ms`, else `DateTime` (whole seconds)."""
    text = when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if ms else text[:19]


def spans(column: str, ranges: list[tuple[datetime, datetime]], prefix: str, kind: str, sql: Sql) -> str:
    """`column` in any of the ranges, each bound as `kind` (`DateTime`, or `DateTime64(3)` to the millisecond)."""
    ms = kind != "DateTime"
    found = []
    for i, (a, b) in enumerate(ranges):
        low, high = sql.bind(f"{prefix}a{i}", at(a, ms), kind), sql.bind(f"{prefix}b{i}", at(b, ms), kind)
        found.append(f"({column} >= {low} AND {column} < {high})")
    return f"({' OR '.join(found)})"


def points_in(start: datetime, end: datetime, step: int, interval: str) -> None:
    """Refuses a time series of more than MAX_POINTS buckets, saying what would fit."""
    points = math.ceil((end - floor_to(start, step)).total_seconds() / step)
    if points > MAX_POINTS:
        raise ValueError(f"interval {interval} from {start.isoformat()} to {end.isoformat()} is {points} points "
                         f"(at most {MAX_POINTS}): choose a longer interval or a shorter range")
