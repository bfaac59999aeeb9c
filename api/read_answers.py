"""How a read endpoint takes a question: the caller's read token, the query string validated (400 with every reason),
then ClickHouse (503 when it cannot answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.auth import ApiAuth
from api.responses import bad_request, unavailable
from runtime.clickhouse import ClickHouseClient

Build = Callable[[Any, datetime], tuple[str, dict[str, Any]]]
"""(validated question, now) → (SQL, parameters); a ValueError is the caller's mistake."""


def query_values(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    """The query string as the model wants it: every value of a repeatable parameter, the one value of the others."""
    repeatable = {name for name, info in model.model_fields.items() if "tuple" in str(info.annotation)}
    values: dict[str, Any] = {}
    for key in request.query:
        if key in values:
            continue
        found = request.query.getall(key)
        values[key] = found if key in repeatable or len(found) > 1 else found[0]
    return values


def parsed(request: web.Request, auth: ApiAuth, model: type[Any], build: Build) -> tuple[Any, str, dict[str, Any]] | web.Response:
    """(the validated question, its SQL and parameters) of a reader, or the answer that says why not (401/403 raised)."""
    auth.caller(request, "read")
    try:
        query = model.model_validate(query_values(request, model))
        sql, params = build(query, datetime.now(timezone.utc))
    except ValidationError as err:
        return bad_request(err)
    except ValueError as err:
        return bad_request([str(err)])
    return query, sql, params


async def ask(request: web.Request, auth: ApiAuth, clickhouse: ClickHouseClient, model: type[Any],
              build: Build) -> tuple[Any, Any] | web.Response:
    """(the validated question, ClickHouse's result), or the answer that says why not: 400 with reasons, or 503."""
    found = parsed(request, auth, model, build)
    if isinstance(found, web.Response):
        return found
    query, sql, params = found
    try:
        return query, await asyncio.to_thread(clickhouse.query, sql, params)
    except Exception as err:  # noqa: BLE001 - the input was valid: what failed is ClickHouse
        return unavailable(err)
