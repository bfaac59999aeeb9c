"""The ingest API's answers: the seed worker's bodies, plus 413/415/503."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from schemas.api_metrics import NULL_MESSAGE, OMITTABLE

RETRY_AFTER_SECONDS = "1"

Issue = dict[str, Any]


def issues_from(error: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[Issue]:
    """Pydantic errors as seed-style issues: each names the field path and the problem."""
    issues: list[Issue] = []
    for item in error.errors(include_url=False, include_context=False):
        if item["type"] == "json_invalid":
            issues.append({"code": "invalid_json", "path": list(prefix), "message": f"Malformed JSON: {item['msg']}"})
            continue
        loc = item["loc"]
        null = item.get("input", 0) is None and bool(loc) and loc[-1] in OMITTABLE
        issues.append({"code": "value_error" if null else item["type"], "path": [*prefix, *loc],
                       "message": f"Value error, {NULL_MESSAGE}" if null else item["msg"]})
    return issues


def invalid_body(issues: list[Issue]) -> web.Response:
    return web.json_response({"success": False, "error": "Invalid request body", "issues": issues}, status=400)


def authentication_failed() -> web.Response:
    return web.json_response({"success": False, "error": "Authentication failed"}, status=403)


def too_large(limit: int) -> web.Response:
    return web.json_response(
        {"success": False, "error": f"Request body too large: the limit is {limit} bytes"}, status=413
    )


def too_slow(timeout_s: float) -> web.Response:
    return web.json_response(
        {"success": False, "error": f"Request body not received within {timeout_s:g} s"}, status=408,
        headers={"Connection": "close"},
    )


def unsupported_media_type(content_type: str) -> web.Response:
    return web.json_response(
        {"success": False, "error": f"Unsupported media type {content_type!r}: send application/json"},
        status=415,
    )


def unavailable(reason: str) -> web.Response:
    return web.json_response(
        {"success": False, "error": f"Service unavailable, retry later: {reason}"},
        status=503,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def busy() -> web.Response:
    """The process's budget for request bodies is spent: retry shortly (nothing of this request was read)."""
    return web.json_response(
        {"success": False, "error": "Service busy: too many request bodies in flight, retry later"},
        status=503,
        headers={"Retry-After": RETRY_AFTER_SECONDS, "Connection": "close"},
    )


def item_too_large(index: int, limit: int) -> web.Response:
    return web.json_response(
        {"success": False, "error": f"Event {index} of the batch is too large: the limit is {limit} bytes per event",
         "index": index},
        status=413,
    )
