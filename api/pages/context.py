"""What every page handler reads from and renders with, built once by `api.pages.app`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

from api.pages.render import Renderer
from api.sessions import Sessions
from api.status_api import StatusApi
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy
from schemas.prices import PriceTable

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class PageContext:
    policy: AlertPolicy
    clickhouse: ClickHouseClient
    status: StatusApi
    """The read API's own status reader: its caches serve the pages and `/v1/slo/status` alike."""
    prices: PriceTable
    sessions: Sessions
    render: Renderer
    now: Callable[[], datetime]

    async def read(self, function: Callable[Concatenate[ClickHouseClient, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`function(clickhouse, …)` off the event loop: ClickHouse's client blocks."""
        return await asyncio.to_thread(function, self.clickhouse, *args, **kwargs)
