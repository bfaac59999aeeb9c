"""`python -m o11y.docs`: write the site's generated reference pages under docs/reference/ (a test keeps them current)."""

from __future__ import annotations

import tempfile

from ingest.clickhouse_migrations import migrate
from o11y.docs.clickhouse_tables import described_tables
from o11y.docs.reference_pages import DATABASE, REFERENCE, api_pages, schema_page
from o11y.docs.schema_reference import Table
from runtime.clickhouse import connect


def schema_tables() -> list[Table]:
    """The tables `o11y migrate` declares, as a fresh chDB describes them: the one place that says where tables come from
    (to read them from their declarations instead, build the `Table`s from those here)."""
    with tempfile.TemporaryDirectory() as path:
        client = connect(f"chdb://{path}")
        migrate(client)
        tables = described_tables(client, DATABASE)
        client.close()
    return tables


def main() -> None:
    for name, text in {**api_pages(), "schema.md": schema_page(schema_tables())}.items():
        (REFERENCE / name).write_text(text)
        print(f"wrote {REFERENCE / name}")


if __name__ == "__main__":
    main()
