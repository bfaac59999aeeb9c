"""`python -m o11y.docs`: write the site's generated reference pages under docs/reference/ (a test keeps them current)."""

from __future__ import annotations

from o11y.docs.reference_pages import REFERENCE, api_pages, schema_page
from o11y.docs.schema_reference import Column, Table
from storage import table as declared
from storage.catalog import SCHEMA_MIGRATIONS, TABLES


def _table(table: declared.Table) -> Table:
    columns = tuple(Column(c.name, c.type, c.comment, c.default.split(" ")[0] if c.default else "") for c in table.columns)
    return Table(table.name, table.engine.split("(")[0], columns, table.order_by.strip("()"), table.partition_by)


def schema_tables() -> list[Table]:
    """The tables as storage/ declares them: the one place that says where tables come from."""
    return [_table(table) for table in (*TABLES, SCHEMA_MIGRATIONS)]


def main() -> None:
    for name, text in {**api_pages(), "schema.md": schema_page(schema_tables())}.items():
        (REFERENCE / name).write_text(text)
        print(f"wrote {REFERENCE / name}")


if __name__ == "__main__":
    main()
