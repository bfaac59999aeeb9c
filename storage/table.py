"""How a table is declared: columns with their types and meanings, engine, keys and retention; its DDL follows (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

DB = "o11y"
DEDUP = "non_replicated_deduplication_window = 1000"
"""Inserts retried with the same token are stored once (the loader's batches, and the views it fills)."""


@dataclass(frozen=True)
class Retention:
    """How long each kind of table keeps its rows (`O11Y_CLICKHOUSE_*_TTL_DAYS`, `O11Y_DEDUP_HORIZON_S`)."""

    raw_days: int = 90
    rollup_days: int = 400
    alert_days: int = 400
    dedup_horizon_s: int = 86_400

    def event_id_days(self) -> int:
        """Whole days of event ids kept for dedup: the horizon, rounded up, plus one (parts drop a day at a time)."""
        return -(-self.dedup_horizon_s // 86_400) + 1


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str
    default: str = ""
    """A `DEFAULT …` or `MATERIALIZED …` clause."""

    def ddl(self) -> str:
        default = f" {self.default}" if self.default else ""
        return f"{self.name} {self.type}{default} COMMENT {quoted(self.comment)}"


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Table:
    """One table: `str(table)` is its qualified name, what queries and inserts use."""

    name: str
    about: str
    """What a row is, in one sentence (the schema reference's first line)."""
    columns: tuple[Column, ...]
    engine: str
    order_by: str
    since: int
    """The schema version that created it."""
    partition_by: str = ""
    ttl: Callable[[Retention], str] | None = field(default=None, compare=False)
    """The expression rows expire at, from the configured retention (re-applied by every `o11y migrate`)."""
    settings: str = ""
    sharding: str = "rand()"
    """On a cluster: the Distributed table's sharding key."""

    def __str__(self) -> str:
        return f"{DB}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def create(self, retention: Retention, name: str | None = None, engine: str | None = None) -> str:
        """`CREATE TABLE IF NOT EXISTS`, every column with its comment (`name`/`engine`: a cluster's local table)."""
        body = ",\n".join(f"    {c.ddl()}" for c in self.columns)
        lines = [f"CREATE TABLE IF NOT EXISTS {name or self} (\n{body}\n) ENGINE = {engine or self.engine}"]
        if self.partition_by:
            lines.append(f"PARTITION BY {self.partition_by}")
        lines.append(f"ORDER BY {self.order_by}")
        if self.ttl is not None:
            lines.append(f"TTL {self.ttl(retention)}")
        if self.settings:
            lines.append(f"SETTINGS {self.settings}")
        return "\n".join(lines)

    def add_column(self, name: str) -> str:
        """The statement a migration adds a declared column with, in its declared place (after the one before it)."""
        at = self.column_names.index(name)
        after = f" AFTER {self.columns[at - 1].name}" if at else " FIRST"
        return f"ALTER TABLE {self} ADD COLUMN IF NOT EXISTS {self.columns[at].ddl()}{after}"

    def comments(self, where: str = "", name: str | None = None) -> str:
        """One `ALTER TABLE … COMMENT COLUMN` statement for every column (`where`: ` ON CLUSTER '…'`)."""
        return (f"ALTER TABLE {name or self}{where} "
                + ", ".join(f"COMMENT COLUMN {c.name} {quoted(c.comment)}" for c in self.columns))


@dataclass(frozen=True)
class View:
    """A materialized view: every insert into `source` also lands, transformed by `select`, in `target`."""

    name: str
    target: Table
    select: str
    """The view's SELECT over `source`, written with `{source}` where the source table goes."""
    source: Table

    def __str__(self) -> str:
        return f"{DB}.{self.name}"

    def query(self, source: str | None = None) -> str:
        return self.select.replace("{source}", source or str(self.source))

    def create(self, where: str = "", target: str | None = None, source: str | None = None) -> str:
        return (f"CREATE MATERIALIZED VIEW IF NOT EXISTS {self}{where} TO {target or self.target} AS "
                f"{self.query(source)}")

    def modify(self) -> str:
        """The statement a migration changes the view's query with (in place: no insert passes between two views)."""
        return f"ALTER TABLE {self} MODIFY QUERY {self.query()}"

    def backfill(self) -> str:
        """The view's rows for what `source` already holds (when a migration adds the view to a filled table)."""
        return f"INSERT INTO {self.target} {self.query()}"
