"""Version 3: the loader's progress, incidents and judged ticks; incident ids in the alert log."""

from storage.alerting import ALERT_EVENTS, ALERT_TICKS, INCIDENTS
from storage.loading import LOADER_PROGRESS
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(3, "loader progress, incidents and judged ticks; incident ids in the alert log", (
        LOADER_PROGRESS.create(retention), INCIDENTS.create(retention), ALERT_TICKS.create(retention),
        f"ALTER TABLE {ALERT_EVENTS} ADD COLUMN IF NOT EXISTS incident_id String",
    ))
