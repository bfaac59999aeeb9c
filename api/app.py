"""`o11y api`: the read API (and the policy endpoints) over ClickHouse, read-only but for overrides and silences."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

from aiohttp import web
from prometheus_client import CollectorRegistry

from alerting.backtest.run import BacktestSource
from api.auth import ApiAuth
from api.backtest_api import BacktestApi
from api.export import ExportKind, Exports
from api.incidents_api import IncidentsApi
from api.openapi import api_document
from api.pages.app import add_page_routes
from api.pages.context import PageContext
from api.pages.render import Renderer
from api.pages.sign_in import SignIn
from api.policy_api import PolicyApi
from api.session_api import SessionsApi
from api.session_list import SESSION_FIELDS, sessions_sql
from api.session_query import SessionExportQuery
from api.session_revocations import Revocations
from api.sessions import Sessions
from api.signed_in import session_middleware
from api.sql_api import SqlApi, SqlLimits
from api.status_api import StatusApi
from api.usage_api import UsageApi
from api.usage_query import EVENT_FIELDS, ExportQuery, events_sql
from runtime.clickhouse import ClickHouseClient, RawClient, connect_raw
from runtime.client_secrets import ClientSecrets
from runtime.health import READINESS, add_health_routes
from runtime.http_server import harden
from runtime.settings import Settings
from schemas.alert_policy import AlertPolicy
from schemas.prices import PriceTable, load_prices


def create_api_app(settings: Settings, policy: AlertPolicy, clickhouse: ClickHouseClient, registry: CollectorRegistry,
                   admin: web.Application | None = None, prices: PriceTable | None = None,
                   more_clients: Callable[[], RawClient] | None = None, warm: bool = False,
                   now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                   token_file: Path | None = None) -> web.Application:
    """`more_clients` opens a client of the same ClickHouse for a long export (default: from O11Y_CLICKHOUSE_URL);
    `warm` reads the SLO period at start (a service), not on the first call (tests); `now`: the clock of the SLO status
    and the pages (tests pass a timeline's); `token_file`: where `o11y dev` wrote the admin token, for the sign-in page
    to say."""
    app = web.Application(client_max_size=64 * 1024)
    add_health_routes(app, registry, admin, ClientSecrets(settings.admin_tokens))
    app[READINESS]["clickhouse"] = lambda: _clickhouse_ready(clickhouse)
    auth, sessions, revocations = ApiAuth(settings), Sessions(settings), Revocations(clickhouse)
    app.middlewares.append(session_middleware(sessions, revocations, now))
    PolicyApi(settings, policy, clickhouse, now).add_routes(app)
    IncidentsApi(auth, clickhouse).add_routes(app)
    BacktestApi(auth, policy, cast(BacktestSource, clickhouse)).add_routes(app)
    status = StatusApi(auth, settings, policy, clickhouse, now)
    status.add_routes(app, warm)
    url = settings.clickhouse_url
    if more_clients is None and url:
        def more_clients() -> RawClient:
            return connect_raw(url)
    prices = prices if prices is not None else load_prices(settings.prices)
    UsageApi(auth, clickhouse, prices).add_routes(app)
    SessionsApi(auth, clickhouse).add_routes(app)
    _add_exports(app, Exports(auth, clickhouse, more_clients, settings.api_export_write_timeout_s), prices)
    SqlApi(auth, more_clients, SqlLimits.of(settings)).add_routes(app)
    document = api_document()

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", openapi)
    render = Renderer(sessions)
    SignIn(auth, sessions, revocations, render, now, token_file).add_routes(app)
    add_page_routes(app, PageContext(policy, clickhouse, status, prices, sessions, render, now))
    return harden(app)


def _add_exports(app: web.Application, exports: Exports, prices: PriceTable) -> None:
    """Usage and sessions share one limit on exports at a time."""
    exports.add_route(app, ExportKind("/v1/usage/export", ExportQuery, lambda q, now: events_sql(q, prices, now, None),
                                      EVENT_FIELDS, "usage"))
    exports.add_route(app, ExportKind("/v1/sessions/export", SessionExportQuery, lambda q, now: sessions_sql(q, now, None),
                                      SESSION_FIELDS, "sessions"))


async def _clickhouse_ready(clickhouse: ClickHouseClient) -> str | None:
    try:
        await asyncio.to_thread(clickhouse.query, "SELECT 1")
    except Exception as err:  # noqa: BLE001 - any failure means no question can be answered
        return f"ClickHouse unreachable ({type(err).__name__})"
    return None
