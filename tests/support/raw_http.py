"""Posting bytes exactly as given (no client library fixing them up) to a server a test runs."""

from __future__ import annotations

import http.client
from typing import Any

from support.live_server import LiveServer


def post_raw(server: LiveServer, body: bytes, content_type: str = "application/json", path: str = "/ingest/api-metrics",
             headers: dict[str, str] | None = None, with_body: bool = False) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        assert response.status < 500 or response.status == 503, (response.status, data[:300])
        return (response.status, data) if with_body else response.status
    finally:
        connection.close()
