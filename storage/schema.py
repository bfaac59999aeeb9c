"""Applying the schema: the missing versions in order, the configured retention on every run, and the check the other
processes make before they start."""

from __future__ import annotations

import logging

from runtime.clickhouse import ClickHouseClient
from storage.catalog import SCHEMA_MIGRATIONS, TABLES
from storage.migrations import migrations
from storage.table import DB, Retention

log = logging.getLogger(__name__)
DEFAULT_RETENTION = Retention()


def applied_version(client: ClickHouseClient) -> int:
    client.command(f"CREATE DATABASE IF NOT EXISTS {DB}")
    client.command(SCHEMA_MIGRATIONS.create(Retention()))
    return int(client.query(f"SELECT max(version) FROM {SCHEMA_MIGRATIONS}").result_rows[0][0])


def latest_version() -> int:
    return max(m.version for m in migrations(Retention()))


def require_schema(client: ClickHouseClient) -> None:
    """Processes other than `o11y migrate` refuse to run on an older schema, with one line saying what to do."""
    current = applied_version(client)
    if current < latest_version():
        raise RuntimeError(f"ClickHouse schema {DB} is at version {current} of {latest_version()}: run `o11y migrate` first")


def migrate(client: ClickHouseClient, retention: Retention = DEFAULT_RETENTION, target: int | None = None) -> list[int]:
    """Apply every version above the recorded one (up to `target`); return the versions applied."""
    current = applied_version(client)
    done: list[int] = []
    for migration in migrations(retention):
        if migration.version <= current or (target is not None and migration.version > target):
            continue
        for statement in migration.statements:
            client.command(statement)
        client.command(f"INSERT INTO {SCHEMA_MIGRATIONS} (version, description) VALUES ({migration.version}, %(d)s)",
                       parameters={"d": migration.description})
        log.info("applied ClickHouse schema version %d: %s", migration.version, migration.description)
        done.append(migration.version)
    _apply_retention(client, retention, max([current, *done]))
    return done


def _apply_retention(client: ClickHouseClient, retention: Retention, version: int) -> None:
    """Retention follows the configuration on every run, not only when a table is created."""
    for table in TABLES:
        if table.ttl is not None and table.since <= version:
            client.command(f"ALTER TABLE {table} MODIFY TTL {table.ttl(retention)}",
                           settings={"materialize_ttl_after_modify": 0})
