"""Version 7: the daily and hourly usage rollups the read API answers from, backfilled."""

from storage.events import USAGE_VIEWS
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    statements = tuple(s for view in USAGE_VIEWS for s in (view.target.create(retention), view.create(), view.backfill()))
    return Migration(7, "daily and hourly usage rollups (requests, errors, tokens, latency sketches) for the read API, "
                        "backfilled", statements)
