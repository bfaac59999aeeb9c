"""The schema reference page, from the tables as plain data: whoever declares the tables hands them to `schema_reference`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str = ""
    default_kind: str = ""
    """`DEFAULT`, `MATERIALIZED` or `ALIAS`: how ClickHouse fills the column when an insert leaves it out."""


@dataclass(frozen=True)
class Table:
    name: str
    engine: str
    columns: tuple[Column, ...]
    sorting_key: str = ""
    partition_key: str = ""


def column_table(columns: Iterable[Column]) -> str:
    """The columns as `DESCRIBE` shows them: name, type (with how it is filled), meaning."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for column in columns:
        kind = f" ({column.default_kind})" if column.default_kind else ""
        lines.append(f"| `{column.name}` | {column.type}{kind} | {column.comment} |")
    return "\n".join(lines) + "\n"


def _storage(table: Table) -> str:
    parts = [table.engine]
    parts += [f"partitioned by `{table.partition_key}`"] if table.partition_key else []
    parts += [f"sorted by `({table.sorting_key})`"] if table.sorting_key else []
    return ", ".join(parts) + "."


def schema_reference(tables: Iterable[Table], database: str, see_also: Mapping[str, str]) -> str:
    """Markdown: one section per table of `database` (its engine, keys and columns), with where its use is explained."""
    lines = ["# Schema reference", "",
             f"Every table of the ClickHouse database `{database}`, as `DESCRIBE` shows it after `o11y migrate`: "
             "generated from the table declarations by `python -m o11y.docs`, and a test keeps it equal to what a "
             "migrated ClickHouse describes. A column's meaning is its ClickHouse comment.", ""]
    for table in sorted(tables, key=lambda t: t.name):
        lines += [f"## `{database}.{table.name}`", "", _storage(table), ""]
        lines += [see_also[table.name], ""] if table.name in see_also else []
        # Marks the columns as a section other pages include (`--8<-- "reference/schema.md:api_metrics"`).
        lines += [f"<!-- --8<-- [start:{table.name}] -->", column_table(table.columns).rstrip("\n"),
                  f"<!-- --8<-- [end:{table.name}] -->", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
