"""Version 13: the session events (`o11y.session_metrics`), their per-minute, hourly and daily rollups, and the loader's
bookkeeping views over them (offsets loaded, event ids of the dedup horizon)."""

from storage.agent_sessions import SESSION_METRICS, SESSION_TABLES, SESSION_VIEWS
from storage.loading import bookkeeping_views
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(13, "agent sessions: the session_metrics table, its rollups and the loader's bookkeeping views", (
        *(table.create(retention) for table in SESSION_TABLES),
        *(view.create() for view in (*SESSION_VIEWS, *bookkeeping_views(SESSION_METRICS))),
    ))
