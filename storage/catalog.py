"""Every table and view of the schema, in the order they were added: what the cluster DDL, the schema reference and the
check that no other package names a table read."""

from __future__ import annotations

from storage.agent_sessions import SESSION_METRICS, SESSION_TABLES, SESSION_VIEWS
from storage.alerting import ALERT_EVENTS, ALERT_TICKS, DELIVERIES, INCIDENTS, SILENCES, SLO_OVERRIDE_CHANGES
from storage.events import API_METRICS, API_METRICS_1M, API_METRICS_1M_MV, USAGE_1D, USAGE_1H, USAGE_VIEWS
from storage.loading import EVENT_IDS, EVENT_IDS_MV, LOADED_OFFSETS, LOADED_OFFSETS_MV, LOADER_PROGRESS, bookkeeping_views
from storage.sessions import REVOKED_SESSIONS
from storage.table import Column, Table, View

SCHEMA_MIGRATIONS = Table(
    "schema_migrations", "The schema versions applied, one row each.",
    (
        Column("version", "UInt32", "The schema version."),
        Column("description", "String", "What it added or changed."),
        Column("applied_at", "DateTime64(3, 'UTC')", "When `o11y migrate` applied it.", "DEFAULT now64(3)"),
    ),
    engine="MergeTree", order_by="version", since=0,
)

TABLES: tuple[Table, ...] = (
    API_METRICS, LOADED_OFFSETS, ALERT_EVENTS, API_METRICS_1M, LOADER_PROGRESS, INCIDENTS, ALERT_TICKS, EVENT_IDS,
    SILENCES, SLO_OVERRIDE_CHANGES, USAGE_1D, USAGE_1H, REVOKED_SESSIONS, *SESSION_TABLES, DELIVERIES,
)
"""The tables o11y's processes use (the migrations' own ledger, `SCHEMA_MIGRATIONS`, aside)."""
RAW_TABLES: dict[str, Table] = {"api-metrics": API_METRICS, "session-metrics": SESSION_METRICS}
"""Each event type's raw table, by the type's name (`schemas.event_registry`): where its loader inserts."""
VIEWS: tuple[View, ...] = (LOADED_OFFSETS_MV, API_METRICS_1M_MV, EVENT_IDS_MV, *USAGE_VIEWS, *SESSION_VIEWS,
                           *bookkeeping_views(SESSION_METRICS))
