"""`GET /v1/incidents`: open incidents and their history, from `o11y.incidents` (latest revision each) and the alert log."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from alerting.evaluation.store import INCIDENT_COLUMNS, incident_from_row
from alerting.incidents.incidents import Incident
from api.auth import ApiAuth
from api.responses import bad_request, json_response, unavailable
from runtime.clickhouse import ClickHouseClient
from schemas.api_metrics import MAX_NAME
from storage.alerting import ALERT_EVENTS, INCIDENTS


class IncidentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Literal["open", "all"] = "open"
    severity: Literal["page", "ticket"] | None = None
    slo: str | None = Field(default=None, max_length=MAX_NAME)
    provider: str | None = Field(default=None, max_length=MAX_NAME)
    model: str | None = Field(default=None, max_length=MAX_NAME)
    client: str | None = Field(default=None, max_length=MAX_NAME)
    start: AwareDatetime | None = Field(default=None, alias="from")
    end: AwareDatetime | None = Field(default=None, alias="to")
    limit: int = Field(default=100, ge=1, le=1000)


def incidents_sql(query: IncidentQuery, now: datetime) -> tuple[str, dict[str, Any]]:
    """Latest revision per incident, filtered; each with how many messages reached Slack for it."""
    where = ["1"]
    params: dict[str, Any] = {"limit": query.limit}
    if query.state == "open":
        where.append("status = 'open'")
    for name, column in (("severity", "severity"), ("slo", "slo"), ("provider", "provider"), ("model", "model"),
                         ("client", "client_name")):
        value = getattr(query, name)
        if value is not None:
            where.append(f"{column} = {{{name}:String}}")
            params[name] = value
    if query.state == "all":
        start = query.start or now - timedelta(days=7)
        end = query.end or now
        where.append("started_at < {end:DateTime} AND (resolved_at IS NULL OR resolved_at >= {start:DateTime})")
        params.update(start=_naive(start), end=_naive(end))
    columns = ", ".join(INCIDENT_COLUMNS)
    sql = (
        f"SELECT {columns}, notifications FROM (SELECT {columns} FROM {INCIDENTS} ORDER BY incident_id, revision DESC "
        f"LIMIT 1 BY incident_id) AS i LEFT JOIN (SELECT incident_id, countIf(decision IN ('delivered', 'unconfirmed')) "
        f"AS notifications FROM {ALERT_EVENTS} WHERE incident_id != '' GROUP BY incident_id) AS n USING incident_id "
        f"WHERE {' AND '.join(where)} ORDER BY opened_at DESC, incident_id LIMIT {{limit:UInt32}}"
    )
    return sql, params


def _naive(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(tzinfo=None)


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def incident_dict(incident: Incident, notifications: int) -> dict[str, Any]:
    severity, slo, provider, model, client = incident.key
    return {
        "id": incident.id, "severity": severity, "slo": slo, "provider": provider, "model": model, "client": client,
        "status": incident.status, "tier": incident.tier, "started_at": _time(incident.started_at),
        "opened_at": _time(incident.opened_at), "resolved_at": _time(incident.resolved_at),
        "last_judged_at": _time(incident.judged_at), "reopened": len(incident.reopened), "notified": incident.notified,
        "notifications": notifications, "peak_burn": round(incident.peak_burn, 3), "bad_events": incident.bad,
        "total_events": incident.total,
    }


def read_incidents(clickhouse: ClickHouseClient, query: IncidentQuery, now: datetime) -> list[dict[str, Any]]:
    """The incidents `query` asks for, as `/v1/incidents` answers them."""
    sql, params = incidents_sql(query, now)
    result = clickhouse.query(sql, params)
    names = [*INCIDENT_COLUMNS, "notifications"]
    found = []
    for row in result.result_rows:
        values = dict(zip(names, row, strict=True))
        found.append(incident_dict(incident_from_row(values), int(values["notifications"] or 0)))
    return found


class IncidentsApi:
    def __init__(self, auth: ApiAuth, clickhouse: ClickHouseClient) -> None:
        self._auth, self._clickhouse = auth, clickhouse

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/incidents", self.incidents)

    async def incidents(self, request: web.Request) -> web.Response:
        self._auth.caller(request, "read")
        try:
            query = IncidentQuery.model_validate(dict(request.query))
        except ValidationError as err:
            return bad_request(err)
        try:
            found = await asyncio.to_thread(read_incidents, self._clickhouse, query, datetime.now(timezone.utc))
        except Exception as err:  # noqa: BLE001 - the input was valid: what failed is ClickHouse
            return unavailable(err)
        return json_response({"state": query.state, "incidents": found})
