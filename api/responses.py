"""The read and policy API's answers: JSON, `400` with every reason, `503` when ClickHouse cannot answer."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger(__name__)


def json_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=lambda v: json.dumps(v, default=str))


def reasons(err: ValidationError) -> list[str]:
    """`field: problem` for each error; a query parameter's name as the caller wrote it (`from`, not `start`)."""
    return [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors(include_url=False, include_input=False)]


def bad_request(err: ValidationError | list[str], error: str = "invalid request") -> web.Response:
    issues = reasons(err) if isinstance(err, ValidationError) else err
    return json_response({"success": False, "error": error, "issues": issues}, 400)


def unavailable(err: Exception) -> web.Response:
    log.warning("ClickHouse could not answer: %s", str(err).splitlines()[0][:500] if str(err) else type(err).__name__)
    return json_response({"success": False, "error": f"ClickHouse unavailable ({type(err).__name__}), retry later"},
                         503, {"Retry-After": "5"})
