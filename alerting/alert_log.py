"""Every decision, with its numbers, in o11y.alert_events for analysts."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from alerting.evaluator import Decision

log = logging.getLogger(__name__)

COLUMNS = (
    "event_time", "tick", "decision", "severity", "slo", "tier", "provider", "model", "client_name", "threshold",
    "burn_long", "burn_short", "bad_long", "total_long", "bad_short", "total_short", "observed_p50_ms",
    "observed_p90_ms", "detail",
)


class AlertLog:
    def __init__(self, clickhouse: Any) -> None:
        self._clickhouse = clickhouse

    def record(self, decisions: list[Decision]) -> None:
        if not decisions:
            return
        now = datetime.now(timezone.utc)
        rows = []
        for d in decisions:
            values = d.as_dict()
            values["tick"] = datetime.fromisoformat(d.tick)
            rows.append([now, *(values[c] for c in COLUMNS[1:])])
        try:
            self._clickhouse.insert("o11y.alert_events", rows, column_names=COLUMNS)
        except Exception as err:  # noqa: BLE001 - the log must not stop paging
            log.error("could not write %d alert decisions to o11y.alert_events: %s", len(rows), type(err).__name__)
