"""Version 12: time to first token and time per output token in the usage rollups, per hour and day and route.

Hours and days rolled up before this version keep an empty sketch of both: the usage answers count no request of
theirs (never as fast or slow), while the minutes a range reads from the raw table count; rebuilding the tables
(docs/operators/rebuilding.md) fills them.
"""

from storage.events import USAGE_VIEWS
from storage.migrations.migration import Migration
from storage.table import Retention

_SKETCHES = ("ttft_ms_sketch", "tpot_ms_sketch")


def migration(retention: Retention) -> Migration:
    return Migration(12, "time to first token and time per output token sketches in the usage rollups", tuple(
        statement for view in USAGE_VIEWS
        for statement in (*(view.target.add_column(name) for name in _SKETCHES), view.modify())))
