"""Version 14: what each receiver has of each incident (`o11y.deliveries`), so that no restart sends it twice, and the
receiver of each delivery row of the alert log."""

from storage.alerting import ALERT_EVENTS, DELIVERIES
from storage.migrations.migration import Migration
from storage.table import Retention, quoted

_RECEIVER = next(c for c in ALERT_EVENTS.columns if c.name == "receiver")


def migration(retention: Retention) -> Migration:
    return Migration(14, "deliveries: what each receiver has of each incident; the receiver in the alert log", (
        DELIVERIES.create(retention),
        f"ALTER TABLE {ALERT_EVENTS} ADD COLUMN IF NOT EXISTS receiver LowCardinality(String) "
        f"COMMENT {quoted(_RECEIVER.comment)}",
    ))
