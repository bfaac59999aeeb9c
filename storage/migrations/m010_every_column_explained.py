"""Version 10: a comment on every column of every table (`DESCRIBE` says what each means; the schema reference too)."""

from storage.catalog import TABLES
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(10, "a comment on every column of every table",
                     tuple(table.comments() for table in TABLES if table.since <= 10))
