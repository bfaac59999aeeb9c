"""Version 2: the per-minute rollup the evaluator reads, backfilled from the raw table."""

from storage.events import API_METRICS_1M, API_METRICS_1M_MV
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(2, "per-minute rollup for the SLO evaluator, backfilled from the raw table", (
        API_METRICS_1M.create(retention), API_METRICS_1M_MV.create(), API_METRICS_1M_MV.backfill(),
    ))
