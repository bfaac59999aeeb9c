"""Finished agent sessions with every number chosen, around two hour boundaries, straight into `o11y.session_metrics`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from support.timeline import unique_base

COLUMNS = ["event_id", "received_at", "client_name", "kilo_user_id", "organization_id", "session_id", "platform",
           "session_duration_ms", "time_to_first_response_ms", "total_turns", "total_steps", "tool_calls_by_type",
           "tool_errors_by_type", "total_errors", "errors_by_type", "stuck_tool_call_count", "input_tokens",
           "output_tokens", "reasoning_tokens", "cache_read_tokens", "cache_write_tokens", "total_cost", "compaction_count",
           "auto_compaction_count", "termination_reason", "model", "ingest_version", "kafka_topic", "kafka_partition",
           "kafka_offset"]


@dataclass(frozen=True)
class Session:
    minute: int
    platform: str
    model: str
    reason: str
    calls: dict[str, int]
    errors: dict[str, int]
    first_response_ms: int | None
    duration_ms: int
    cost: float
    stuck: int = 0
    total_errors: int = 0
    tokens: tuple[int, int, int, int, int] = (1000, 100, 10, 400, 50)
    """input, output, reasoning, cache read, cache write."""


@dataclass
class SessionHistory:
    """One client's sessions: 00:00 is `base`; the question asked is 00:10 → 02:20 (whole hour 01:00–02:00)."""

    clickhouse: Any
    platform: str = "vscode"
    client: str = field(default_factory=lambda: f"sessions-{uuid.uuid4().hex[:8]}")
    base: datetime = field(default_factory=lambda: unique_base().replace(minute=0))
    asked: list[Session] = field(default_factory=list)

    def add(self, *sessions: Session) -> None:
        rows = [[uuid.uuid4(), self.base + timedelta(minutes=s.minute, seconds=7), self.client, "anon:203.0.113.9"
                 if s.reason == "abandoned" else "u1", "o1", f"ses-{s.minute}", s.platform, s.duration_ms,
                 s.first_response_ms, 4, 12, s.calls, s.errors, s.total_errors, {"tool_error": s.total_errors}
                 if s.total_errors else {}, s.stuck, *s.tokens, s.cost, 1, 0, s.reason, s.model, 1, "sessions-test", 0, i]
                for i, s in enumerate(sessions)]
        self.clickhouse.insert("o11y.session_metrics", rows, column_names=COLUMNS)
        self.asked += [s for s in sessions if 10 <= s.minute < 140]

    def window(self, start: int = 10, end: int = 140, **more: str) -> str:
        return urlencode({"client": self.client, "from": (self.base + timedelta(minutes=start)).isoformat(),
                          "to": (self.base + timedelta(minutes=end)).isoformat(), **more})


def standard(clickhouse: Any, platform: str = "cli") -> SessionHistory:
    """Five sessions in the window (one before it, one after): two end in error, two get stuck, two tool types."""
    history = SessionHistory(clickhouse)
    history.add(
        Session(15, "vscode", "m-a", "completed", {"read_file": 4, "execute_command": 2}, {"execute_command": 1}, 1000,
                60_000, 0.25, total_errors=1),
        Session(65, "vscode", "m-a", "error", {"read_file": 2}, {}, 2000, 120_000, 0.5, total_errors=2),
        Session(75, platform, "m-b", "completed", {"execute_command": 3}, {"execute_command": 3}, None, 30_000, 1.0,
                stuck=2, total_errors=3),
        Session(95, platform, "m-a", "error", {}, {}, 3000, 90_000, 0.125, stuck=1),
        Session(125, "vscode", "m-b", "abandoned", {"read_file": 1}, {}, 4000, 240_000, 2.0),
        Session(5, "vscode", "m-a", "completed", {"read_file": 100}, {}, 9, 9, 50.0),
        Session(145, "vscode", "m-a", "completed", {"read_file": 100}, {}, 9, 9, 50.0),
    )
    return history
