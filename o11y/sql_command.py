"""`o11y sql "SELECT …"`: a read-only query through a running `o11y dev`/`o11y api`, or straight to ClickHouse.

Through the API it needs an admin token: `O11Y_TOKEN`, else the one `o11y dev` wrote to `var/dev-admin-token`.
With no `--url` and nothing listening on the dev API port, it opens ClickHouse itself (`O11Y_CLICKHOUSE_URL`, else
the embedded chDB of `o11y dev`), with the same read-only settings.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from api.sql_api import QueryRefused, SqlLimits, SqlRequest, first_line, run_read_only
from runtime.settings import Settings

WIDTH = 60


class SqlError(Exception):
    """One line for the terminal; the command exits 2."""


def render_table(answer: dict[str, Any]) -> str:
    """JSONCompact as aligned columns, long values cut at WIDTH characters, then the row count."""
    names = [m["name"] for m in answer["meta"]]
    rows = [[_cell(v) for v in row] for row in answer["data"]]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"({answer['rows']} row{'s' if answer['rows'] != 1 else ''})")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "NULL" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= WIDTH else text[:WIDTH - 1] + "…"


def _token(settings: Settings) -> str | None:
    token = os.environ.get("O11Y_TOKEN", "").strip()
    if token:
        return token
    path = settings.data_dir / "dev-admin-token"
    return path.read_text().strip() if path.is_file() else None


def through_api(url: str, token: str | None, request: SqlRequest) -> bytes:
    if not token:
        raise SqlError("no admin token: set O11Y_TOKEN (an O11Y_ADMIN_TOKENS token)")
    body = request.model_dump_json().encode()
    call = urllib.request.Request(f"{url.rstrip('/')}/v1/sql", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=90) as answer:
            data: bytes = answer.read()
            return data
    except urllib.error.HTTPError as err:
        raise SqlError(_problem(err.code, err.read())) from None


def _problem(status: int, body: bytes) -> str:
    try:
        answer = json.loads(body)
        return f"{status}: {answer.get('error', '')}{': ' if answer.get('issues') else ''}{'; '.join(answer.get('issues', []))}"
    except ValueError:
        return f"{status}: {body[:200].decode(errors='replace')}"


def direct(settings: Settings, request: SqlRequest) -> bytes:
    from clickhouse_connect.driver.exceptions import DatabaseError

    from runtime.clickhouse import ClickHouseUnavailable, connect_raw

    url = settings.clickhouse_url
    if not url:
        embedded = settings.data_dir / "chdb"
        if not embedded.is_dir():
            raise SqlError("nothing to ask: no o11y dev/api answers and neither O11Y_CLICKHOUSE_URL nor var/chdb exists")
        url = f"chdb://{Path(embedded).resolve()}"
    try:
        return run_read_only(lambda: connect_raw(url), request, SqlLimits.of(settings))
    except QueryRefused as err:
        raise SqlError(f"query refused: {err}") from None
    except ClickHouseUnavailable as err:
        raise SqlError(str(err)) from None
    except DatabaseError as err:
        raise SqlError(f"ClickHouse refused the query: {first_line(err)}") from None


def run_sql(settings: Settings, query: str, output: str, url: str | None) -> tuple[str, str]:
    """(the answer as text, where it came from)."""
    wanted = "json" if output == "table" else output
    try:
        request = SqlRequest(query=query, format=wanted)  # type: ignore[arg-type]
    except ValueError as err:
        raise SqlError(str(err).splitlines()[-1]) from None
    api = url or f"http://127.0.0.1:{settings.api_port if settings.api_port is not None else settings.http_port + 1}"
    token = _token(settings)
    if token is None and url is None:
        data, source = direct(settings, request), "ClickHouse directly"
    else:
        try:
            data, source = through_api(api, token, request), api
        except (urllib.error.URLError, ConnectionError) as err:
            if url is not None:
                raise SqlError(f"cannot reach {url}: {getattr(err, 'reason', err)}") from None
            data, source = direct(settings, request), "ClickHouse directly"
    if output == "table":
        return render_table(json.loads(data)), source
    return data.decode(), source
