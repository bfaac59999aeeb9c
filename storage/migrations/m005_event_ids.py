"""Version 5: the event ids of the dedup horizon, filled from the raw rows already there."""

from storage.loading import EVENT_IDS, EVENT_IDS_MV, event_ids_backfill
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(5, "event ids of the dedup horizon, looked up by the loader so that each event is stored once", (
        EVENT_IDS.create(retention), EVENT_IDS_MV.create(), event_ids_backfill(retention),
    ))
