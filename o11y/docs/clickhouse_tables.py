"""The tables of a migrated ClickHouse database as plain data for the schema reference: what `DESCRIBE` shows."""

from __future__ import annotations

from o11y.docs.schema_reference import Column, Table
from runtime.clickhouse import ClickHouseClient

TABLES = ("SELECT name, engine, sorting_key, partition_key FROM system.tables "
          "WHERE database = {db:String} AND engine NOT IN ('MaterializedView', 'View') ORDER BY name")
COLUMNS = ("SELECT table, name, type, comment, default_kind FROM system.columns "
           "WHERE database = {db:String} ORDER BY table, position")


def described_tables(client: ClickHouseClient, database: str) -> list[Table]:
    """Every table of `database` (views left out: they hold nothing to read) with its columns in order."""
    columns: dict[str, list[Column]] = {}
    for table, name, kind, comment, default_kind in client.query(COLUMNS, parameters={"db": database}).result_rows:
        columns.setdefault(table, []).append(Column(name, kind, comment, default_kind))
    return [Table(name, engine, tuple(columns.get(name, ())), sorting_key, partition_key)
            for name, engine, sorting_key, partition_key in client.query(TABLES, parameters={"db": database}).result_rows]
