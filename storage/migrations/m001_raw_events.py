"""Version 1: raw events, the loaded offsets, the alert log."""

from storage.alerting import ALERT_EVENTS
from storage.events import API_METRICS
from storage.loading import LOADED_OFFSETS, LOADED_OFFSETS_MV
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(1, "raw events, loaded offsets, alert log", (
        API_METRICS.create(retention), LOADED_OFFSETS.create(retention), LOADED_OFFSETS_MV.create(),
        ALERT_EVENTS.create(retention),
    ))
