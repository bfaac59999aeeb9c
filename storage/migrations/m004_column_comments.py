"""Version 4: column comments of the raw table and the rollup; `o11y_count_over()` reads the rollup's latency counts."""

from storage.events import API_METRICS, API_METRICS_1M, count_over_function
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(4, "column comments; o11y_count_over() reads the rollup's latency counts by threshold", (
        API_METRICS.comments(), API_METRICS_1M.comments(), count_over_function(),
    ))
