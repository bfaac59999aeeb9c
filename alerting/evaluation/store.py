"""Everything alerting reads from and writes to ClickHouse: window counts, loader progress, incidents, ticks, the log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from alerting.evaluation.receipt_store import ReceiptStore
from alerting.incidents.alert_log import COLUMNS, Decision
from alerting.incidents.incidents import Incident
from alerting.incidents.silences import Silence
from alerting.policy.store import PolicyStore
from alerting.receivers.receipts import Ledger, Receipt
from alerting.rules.decisions import IncidentKey
from alerting.rules.freshness import PartitionProgress
from alerting.rules.window_query import WindowCounts, build_query, parse_rows
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy, Dimension
from storage.alerting import ALERT_EVENTS, ALERT_TICKS, INCIDENTS
from storage.loading import LOADER_PROGRESS

log = logging.getLogger(__name__)

INCIDENT_COLUMNS = INCIDENTS.column_names
TICK_COLUMNS = ALERT_TICKS.column_names


@dataclass(frozen=True)
class TickRecord:
    tick: datetime
    outcome: str
    """judged, stale, or waiting (nothing new was loaded yet)"""
    watermark: datetime | None
    duration_s: float
    decisions: int


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.year <= 1970:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _naive(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value is not None else None


class AlertStore:
    """Reads may raise (the tick cannot be judged without them); writes log and go on, the pager must not stop."""

    def __init__(self, client: ClickHouseClient, topics: str | list[str], evaluator: str = "") -> None:
        """`topics`: every event topic whose loading the SLOs wait for (the stale-data guard watches each)."""
        self._client = client
        self._topics = [topics] if isinstance(topics, str) else list(topics)
        self._evaluator = evaluator
        self._contexts: dict[str, Any] = {}
        self.policy = PolicyStore(client)
        self._receipts = ReceiptStore(client)

    def receipts(self, incident_ids: list[str]) -> Ledger:
        return self._receipts.read(incident_ids)

    def save_receipts(self, receipts: list[Receipt]) -> bool:
        return self._receipts.write(receipts)

    def window_counts(self, end: datetime, policy: AlertPolicy, details: bool = True) -> dict[Dimension, WindowCounts]:
        """The windows' counts per route; `details` (what messages say) only when the tick may notify."""
        result = self._client.query(build_query(policy, end, details=details))
        return parse_rows(policy, list(result.column_names), result.result_rows)

    def live_policy(self, policy: AlertPolicy) -> tuple[AlertPolicy, list[str]]:
        """`policy` with the overrides set through the admin API, as they are now."""
        return self.policy.live(policy)

    def silences(self, since: datetime) -> list[Silence]:
        return self.policy.silences(ended_after=since)

    def progress(self) -> list[PartitionProgress]:
        """The loaders' progress per topic and partition; of several consumer groups, the one furthest ahead counts."""
        rows = self._client.query(
            f"SELECT kafka_topic, kafka_partition, max(reached_end_at), argMaxMerge(lag), max(updated_at) "
            f"FROM {LOADER_PROGRESS} WHERE kafka_topic IN {{topics:Array(String)}} "
            "GROUP BY kafka_topic, kafka_partition, consumer_group",
            parameters={"topics": self._topics},
        ).result_rows
        best: dict[tuple[str, int], PartitionProgress] = {}
        several = len(self._topics) > 1
        for topic, partition, reached, lag, updated in rows:
            current = PartitionProgress(
                int(partition), _utc(reached), int(lag), _utc(updated) or datetime.min.replace(tzinfo=timezone.utc),
                str(topic) if several else "",
            )
            known = best.get((current.topic, current.partition))
            if known is None or (current.reached_end_at or current.updated_at) > (known.reached_end_at or known.updated_at):
                best[(current.topic, current.partition)] = current
        return [best[p] for p in sorted(best)]

    def last_judged(self) -> datetime | None:
        rows = self._client.query(f"SELECT max(tick) FROM {ALERT_TICKS} WHERE outcome = 'judged'").result_rows
        return _utc(rows[0][0]) if rows else None

    def incidents(self, since: datetime) -> dict[IncidentKey, Incident]:
        """The latest incident per key among those open, or resolved since `since`."""
        columns = ", ".join(INCIDENT_COLUMNS)
        result = self._client.query(
            f"SELECT {columns} FROM (SELECT {columns} FROM {INCIDENTS} ORDER BY incident_id, revision DESC "
            "LIMIT 1 BY incident_id) WHERE status = 'open' OR judged_at >= {since:DateTime}",
            parameters={"since": _naive(since)},
        )
        latest: dict[IncidentKey, Incident] = {}
        for row in result.result_rows:
            incident = incident_from_row(dict(zip(INCIDENT_COLUMNS, row, strict=True)))
            known = latest.get(incident.key)
            if known is None or incident.opened_at > known.opened_at:
                latest[incident.key] = incident
        return latest

    def save(self, incidents: list[Incident], decisions: list[Decision], ticks: list[TickRecord]) -> bool:
        """Write what the tick decided; False (and logged) when ClickHouse did not take it."""
        now = datetime.now(timezone.utc)
        writes = [
            (str(INCIDENTS), [_incident_row(i, now) for i in incidents], INCIDENT_COLUMNS),
            (str(ALERT_EVENTS), [d.row(now) for d in decisions], COLUMNS),
            (
                str(ALERT_TICKS),
                [
                    [_naive(t.tick), now, t.outcome, _naive(t.watermark), t.duration_s, t.decisions, self._evaluator]
                    for t in ticks
                ],
                TICK_COLUMNS,
            ),
        ]
        ok = True
        for table, rows, columns in writes:
            if not rows:
                continue
            try:
                self._insert(table, rows, columns)
            except Exception as err:  # noqa: BLE001 - the log must not stop paging
                self._contexts.pop(table, None)
                log.error("could not write %d rows to %s: %s", len(rows), table, type(err).__name__)
                ok = False
        return ok

    def _insert(self, table: str, rows: list[list[Any]], columns: tuple[str, ...]) -> None:
        """Through a kept insert context: the table's column types are looked up once, not on every tick."""
        context = self._contexts.get(table)
        if context is None:
            context = self._contexts[table] = self._client.create_insert_context(table, column_names=list(columns))
        context.data = rows
        self._client.insert(context=context)


def incident_from_row(values: dict[str, Any]) -> Incident:
    return Incident(
        id=str(values["incident_id"]),
        key=(values["severity"], values["slo"], values["provider"], values["model"], values["client_name"]),
        status=values["status"],
        tier=values["tier"],
        started_at=_utc(values["started_at"]) or datetime.min.replace(tzinfo=timezone.utc),
        opened_at=_utc(values["opened_at"]) or datetime.min.replace(tzinfo=timezone.utc),
        judged_at=_utc(values["judged_at"]) or datetime.min.replace(tzinfo=timezone.utc),
        resolved_at=_utc(values["resolved_at"]),
        clear_ticks=int(values["clear_ticks"]),
        reopened=tuple(t for t in (_utc(v) for v in values["reopened"]) if t is not None),
        notified=bool(values["notified"]),
        resolve_notified=bool(values["resolve_notified"]),
        bad=int(values["bad_events"]),
        total=int(values["total_events"]),
        peak_burn=float(values["peak_burn"]),
        revision=int(values["revision"]),
    )


def _incident_row(incident: Incident, now: datetime) -> list[Any]:
    severity, slo, provider, model, client = incident.key
    return [
        incident.id,
        incident.revision + 1,
        now,
        severity,
        slo,
        provider,
        model,
        client,
        incident.status,
        incident.tier,
        _naive(incident.started_at),
        _naive(incident.opened_at),
        _naive(incident.judged_at),
        _naive(incident.resolved_at),
        incident.clear_ticks,
        [_naive(t) for t in incident.reopened],
        incident.notified,
        incident.resolve_notified,
        incident.bad,
        incident.total,
        incident.peak_burn,
    ]
