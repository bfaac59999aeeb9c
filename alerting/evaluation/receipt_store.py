"""What each receiver has of each incident, in ClickHouse (`o11y.deliveries`): read at every tick, written at once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, get_args

from alerting.receivers.receipts import Ledger, Outcome, Receipt
from runtime.clickhouse import ClickHouseClient
from storage.alerting import DELIVERIES

log = logging.getLogger(__name__)
COLUMNS = DELIVERIES.column_names
_OUTCOMES = set(get_args(Outcome))


class ReceiptStore:
    """Reads raise (a tick cannot know what was sent without them); writes log and return False."""

    def __init__(self, client: ClickHouseClient) -> None:
        self._client = client
        self._context: Any = None

    def read(self, incident_ids: Iterable[str]) -> Ledger:
        ids = sorted(set(incident_ids))
        if not ids:
            return {}
        columns = ", ".join(COLUMNS)
        rows = self._client.query(
            f"SELECT {columns} FROM {DELIVERIES} WHERE incident_id IN {{ids:Array(String)}} "
            "ORDER BY incident_id, receiver, revision DESC LIMIT 1 BY incident_id, receiver",
            parameters={"ids": ids},
        ).result_rows
        ledger: Ledger = {}
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            if values["outcome"] not in _OUTCOMES:
                log.error("skipped a delivery row of incident %s with an unknown outcome", values["incident_id"])
                continue
            ledger[(str(values["incident_id"]), str(values["receiver"]))] = Receipt(
                str(values["incident_id"]), str(values["receiver"]), str(values["kind"]), str(values["step"]),
                values["outcome"], str(values["answer"]), int(values["attempts"]), str(values["thread"]),
                str(values["shown"]), int(values["revision"]))
        return ledger

    def write(self, receipts: list[Receipt]) -> bool:
        if not receipts:
            return True
        now = datetime.now(timezone.utc)
        rows = [[r.incident_id, r.receiver, r.revision, now, r.kind, r.step, r.outcome, r.answer[:1000],
                 min(r.attempts, 65_535), r.thread, r.shown] for r in receipts]
        try:
            if self._context is None:
                self._context = self._client.create_insert_context(str(DELIVERIES), column_names=list(COLUMNS))
            self._context.data = rows
            self._client.insert(context=self._context)
        except Exception as err:  # noqa: BLE001 - the pager must not stop; the next tick may send again
            self._context = None
            log.error("could not write %d delivery rows to %s: %s", len(rows), DELIVERIES, type(err).__name__)
            return False
        return True
