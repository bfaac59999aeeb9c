"""Version 6: silences, the audit of runtime SLO overrides, silence ids in the alert log."""

from storage.alerting import ALERT_EVENTS, SILENCES, SLO_OVERRIDE_CHANGES
from storage.migrations.migration import Migration
from storage.table import Retention, quoted

_SILENCE_ID = next(c for c in ALERT_EVENTS.columns if c.name == "silence_id")


def migration(retention: Retention) -> Migration:
    return Migration(6, "silences, the audit of runtime SLO overrides, silence ids in the alert log", (
        SILENCES.create(retention), SLO_OVERRIDE_CHANGES.create(retention),
        f"ALTER TABLE {ALERT_EVENTS} ADD COLUMN IF NOT EXISTS silence_id String COMMENT {quoted(_SILENCE_ID.comment)}",
    ))
