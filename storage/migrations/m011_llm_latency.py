"""Version 11: LLM-native latency: time to first token and time per output token, derived on the raw table and
counted exactly per minute.

Minutes rolled up before this version have no streamed/buffered split and no TPOT counts: SLOs on those measures do
not judge them (no requests counted, never as good or bad); the rebuild procedure recounts them from the raw table.
"""

from schemas.latency_measures import TPOT_FIELD, TPOT_OVER, TTFT_FIELD
from storage.events import API_METRICS, API_METRICS_1M, API_METRICS_1M_MV
from storage.migrations.migration import Migration
from storage.table import Retention

_ROLLUP = ("streamed_requests", "streamed_ttfb_ms_over", "buffered_requests", "buffered_ttfb_ms_over", TPOT_OVER,
           "ttft_ms_digest", "tpot_ms_digest")


def migration(retention: Retention) -> Migration:
    return Migration(11, "time to first token and time per output token: derived columns, exact per-minute counts", (
        API_METRICS.add_column(TTFT_FIELD), API_METRICS.add_column(TPOT_FIELD),
        *(API_METRICS_1M.add_column(name) for name in _ROLLUP),
        API_METRICS_1M_MV.modify(),
    ))
