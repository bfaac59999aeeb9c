"""`o11y sql "SELECT …"`: a read-only query through a running `o11y dev`/`o11y api`, or straight to ClickHouse.

Through the API it needs an admin token: `O11Y_TOKEN`, else the one `o11y dev` wrote to `var/dev-admin-token`.
With no `--url` and nothing listening on the dev API port, it opens ClickHouse itself (`O11Y_CLICKHOUSE_URL`, else
the embedded chDB of `o11y dev`), with the same read-only settings.
"""

from __future__ import annotations

import json
import re
from typing import Any

from api.sql_api import QueryRefused, SqlLimits, SqlRequest, first_line, run_read_only
from o11y.command_target import Api, ApiUnreachable, CommandError, clickhouse_url, connect_quietly, token
from runtime.settings import Settings

WIDTH = 60
_STATE = re.compile(r"^AggregateFunction\((\w+)")

def render_table(answer: dict[str, Any]) -> str:
    """JSONCompact as aligned columns, long values cut at WIDTH characters, then the row count."""
    names = [m["name"] for m in answer["meta"]]
    shown = [_state_words(m["name"], m["type"]) for m in answer["meta"]]
    rows = [[s if s is not None else _cell(v) for s, v in zip(shown, row, strict=True)] for row in answer["data"]]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"({answer['rows']} row{'s' if answer['rows'] != 1 else ''})")
    return "\n".join(lines)


def _state_words(name: str, kind: str) -> str | None:
    """An aggregate function's state is bytes only ClickHouse can read: say what it is and how to read it instead."""
    state = _STATE.match(kind.removeprefix("Nullable(").removeprefix("LowCardinality("))
    return f"<{state.group(1)} state: finalizeAggregation({name})>" if state else None


def _cell(value: Any) -> str:
    text = "NULL" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= WIDTH else text[:WIDTH - 1] + "…"


def direct(settings: Settings, request: SqlRequest) -> bytes:
    from clickhouse_connect.driver.exceptions import ClickHouseError

    client = connect_quietly(clickhouse_url(settings))
    try:
        return run_read_only(lambda: client, request, SqlLimits.of(settings))
    except QueryRefused as err:
        raise CommandError(f"query refused: {err}") from None
    except ClickHouseError as err:
        raise CommandError(f"ClickHouse refused the query: {first_line(err)}") from None


def run_sql(settings: Settings, query: str, output: str, url: str | None) -> tuple[str, str]:
    """(the answer as text, where it came from)."""
    wanted = "json" if output == "table" else output
    try:
        request = SqlRequest(query=query, format=wanted)  # type: ignore[arg-type]
    except ValueError as err:
        raise CommandError(str(err).splitlines()[-1]) from None
    admin = token(settings)
    if url is not None and admin is None:
        raise CommandError("no admin token: set O11Y_TOKEN (an O11Y_ADMIN_TOKENS token)")
    data, source = None, "ClickHouse directly"
    if admin is not None:
        api = Api(url or settings.local_url(settings.dev_api_port()), admin)
        try:
            data, source = api.call("POST", "/v1/sql", request.model_dump()), api.url
        except ApiUnreachable as err:
            if url is not None:
                raise CommandError(str(err)) from None
    if data is None:
        data = direct(settings, request)
    if output == "table":
        return render_table(json.loads(data)), source
    return data.decode(), source
