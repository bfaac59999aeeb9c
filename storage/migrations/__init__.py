"""The schema as numbered versions, one module each; `o11y migrate` applies the missing ones in order.

A migration creates tables from their declarations (`CREATE TABLE IF NOT EXISTS`: an install that starts at a later
version gets each table whole, and the `ADD COLUMN IF NOT EXISTS` of a later version finds it there), adds views and
backfills them from what is already stored. Never edit an applied version: add the next one. Imports storage/ and schemas/ only.
"""

from __future__ import annotations

from storage.migrations import (
    m001_raw_events,
    m002_minute_rollup,
    m003_alert_state,
    m004_column_comments,
    m005_event_ids,
    m006_silences_and_overrides,
    m007_usage_rollups,
    m008_revoked_sessions,
    m009_anonymous_users,
    m010_every_column_explained,
)
from storage.migrations.migration import Migration
from storage.table import Retention


def migrations(retention: Retention) -> tuple[Migration, ...]:
    return tuple(module.migration(retention) for module in (
        m001_raw_events, m002_minute_rollup, m003_alert_state, m004_column_comments, m005_event_ids,
        m006_silences_and_overrides, m007_usage_rollups, m008_revoked_sessions, m009_anonymous_users,
        m010_every_column_explained,
    ))


__all__ = ["Migration", "migrations"]
