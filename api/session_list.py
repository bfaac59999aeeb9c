"""The latest sessions (`/v1/sessions/recent`) and every session of a range (`/v1/sessions/export`), as SQL (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.read_question import Sql, at
from api.session_query import Rows, SessionFilters
from schemas.usage_columns import ANONYMOUS_PREFIX, ANONYMOUS_USER
from storage.agent_sessions import SESSION_METRICS

SESSION_COLUMNS: dict[str, str] = {
    "event_id": "toString(e.event_id)", "received_at": "e.received_at", "client": "e.client_name",
    "user": f"if(startsWith(e.kilo_user_id, '{ANONYMOUS_PREFIX}'), '{ANONYMOUS_USER}', e.kilo_user_id)",
    "organization": "e.organization_id", "session_id": "e.session_id", "platform": "e.platform", "model": "e.model",
    "termination_reason": "e.termination_reason", "duration_ms": "e.session_duration_ms",
    "first_response_ms": "e.time_to_first_response_ms", "turns": "e.total_turns", "steps": "e.total_steps",
    "tool_calls": "e.tool_calls", "tool_errors": "e.tool_errors", "tool_calls_by_type": "e.tool_calls_by_type",
    "tool_errors_by_type": "e.tool_errors_by_type", "errors": "e.total_errors", "errors_by_type": "e.errors_by_type",
    "stuck_tool_calls": "e.stuck_tool_call_count", "input_tokens": "e.input_tokens", "output_tokens": "e.output_tokens",
    "reasoning_tokens": "e.reasoning_tokens", "cache_read_tokens": "e.cache_read_tokens",
    "cache_write_tokens": "e.cache_write_tokens", "cost_usd": "e.total_cost", "compactions": "e.compaction_count",
    "auto_compactions": "e.auto_compaction_count",
}
"""What a session looks like in `recent` and `export`: no secret, no IP address (anonymous users are `anonymous`)."""
SESSION_FIELDS = tuple(SESSION_COLUMNS)


def sessions_sql(query: SessionFilters, now: datetime, limit: int | None) -> tuple[str, dict[str, Any]]:
    """Sessions of the range, newest first when limited (the export: in storage order)."""
    start, end = query.span(now)
    sql = Sql()
    where = " AND ".join([f"e.received_at >= {sql.bind('a', at(start, ms=True), 'DateTime64(3)')}",
                          f"e.received_at < {sql.bind('b', at(end, ms=True), 'DateTime64(3)')}",
                          *Rows(query.filters(), (), False).where(sql, raw=True)])
    columns = ", ".join(f"{expr} AS {name}" for name, expr in SESSION_COLUMNS.items())
    newest = f" ORDER BY e.received_at DESC, e.event_id LIMIT {int(limit)}" if limit is not None else ""
    return f"SELECT {columns} FROM {SESSION_METRICS} AS e WHERE {where}{newest}", sql.params
