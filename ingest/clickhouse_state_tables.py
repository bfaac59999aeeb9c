"""DDL of the state tables: loader progress, incidents and judged ticks (version 3), silences and the audit of
overrides (6), signed-out page sessions (8)."""

from __future__ import annotations

DB = "o11y"


def loader_progress(ttl_days: int) -> str:
    """Per topic, partition and consumer group: when the loader last had everything the broker held, and its lag."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.loader_progress (
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    consumer_group LowCardinality(String),
    reached_end_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    updated_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    lag AggregateFunction(argMax, UInt64, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree
ORDER BY (kafka_topic, kafka_partition, consumer_group)
TTL toDateTime(updated_at) + INTERVAL {ttl_days} DAY"""


def incidents(ttl_days: int) -> str:
    """One row per revision of an incident; the highest revision is its state."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.incidents (
    incident_id String,
    revision UInt32,
    updated_at DateTime64(3, 'UTC'),
    severity LowCardinality(String),
    slo LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    client_name LowCardinality(String),
    status LowCardinality(String),
    tier LowCardinality(String),
    started_at DateTime('UTC'),
    opened_at DateTime('UTC'),
    judged_at DateTime('UTC'),
    resolved_at Nullable(DateTime('UTC')),
    clear_ticks UInt16,
    reopened Array(DateTime('UTC')),
    notified Bool,
    resolve_notified Bool,
    bad_events UInt64,
    total_events UInt64,
    peak_burn Float64
) ENGINE = ReplacingMergeTree(revision)
ORDER BY incident_id
TTL toDateTime(updated_at) + INTERVAL {ttl_days} DAY"""


def alert_ticks(ttl_days: int) -> str:
    """Every tick of the evaluator: which minute it judged (or why not), how fresh the data was, how long it took."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.alert_ticks (
    tick DateTime('UTC'),
    evaluated_at DateTime64(3, 'UTC'),
    outcome LowCardinality(String),
    watermark Nullable(DateTime64(3, 'UTC')),
    duration_s Float64,
    decisions UInt32,
    evaluator String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (tick, evaluated_at)
TTL toDateTime(evaluated_at) + INTERVAL {ttl_days} DAY"""


ALERT_EVENTS_INCIDENT = f"ALTER TABLE {DB}.alert_events ADD COLUMN IF NOT EXISTS incident_id String"


Columns = dict[str, tuple[str, str]]
"""Column → (type, meaning): the DDL and its comments from one place."""

SILENCE_COLUMNS: Columns = {
    "silence_id": ("String", "The silence's id, as `o11y silence list` and `/v1/silences` show it."),
    "revision": ("UInt32", "The highest revision is the silence's state (expiring it writes one more)."),
    "updated_at": ("DateTime64(3, 'UTC')", "When this revision was written."),
    "slo": ("String", "SLO name or glob pattern it silences; empty: any SLO."),
    "severity": ("LowCardinality(String)", "`page`, `ticket`, or empty: either."),
    "provider": ("String", "Provider name or glob pattern; empty: any."),
    "model": ("String", "Model name or glob pattern; empty: any."),
    "client_name": ("String", "Client name or glob pattern; empty: any."),
    "starts_at": ("DateTime('UTC')", "From when it silences (inclusive)."),
    "ends_at": ("DateTime('UTC')", "Until when (exclusive); expiring it sets this to the moment of expiry."),
    "created_by": ("String", "Who created it: the admin token's name, or the author given to `o11y silence add`."),
    "comment": ("String", "Why, in the author's words."),
    "expired_by": ("String", "Who expired it before its end; empty otherwise."),
}

OVERRIDE_CHANGE_COLUMNS: Columns = {
    "changed_at": ("DateTime64(3, 'UTC')", "When the override changed."),
    "match_key": ("String", "The override's identity, its match: e.g. `model=free/*,slo=error_rate`."),
    "action": ("LowCardinality(String)", "`put` (created or replaced) or `delete`."),
    "override": ("String", "The override as JSON after the change; empty for `delete`."),
    "previous": ("String", "The override as JSON before the change; empty when there was none."),
    "changed_by": ("String", "Who: the admin token's name."),
}

POLICY_TABLE_COLUMNS: dict[str, Columns] = {"silences": SILENCE_COLUMNS, "slo_override_changes": OVERRIDE_CHANGE_COLUMNS}
"""The tables of schema version 6; a test keeps `DESCRIBE` and the README's tables of them equal."""


def columns_ddl(columns: Columns) -> str:
    return ",\n".join(f"    {name} {kind} COMMENT '{text.replace(chr(39), chr(92) + chr(39))}'"
                      for name, (kind, text) in columns.items())


def silences(ttl_days: int) -> str:
    """One row per revision of a silence."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.silences (
{columns_ddl(SILENCE_COLUMNS)}
) ENGINE = ReplacingMergeTree(revision)
ORDER BY silence_id
TTL ends_at + INTERVAL {ttl_days} DAY"""


def slo_override_changes() -> str:
    """Every change of a runtime SLO override, kept (no TTL): the overrides in force are the latest `put` per match."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.slo_override_changes (
{columns_ddl(OVERRIDE_CHANGE_COLUMNS)}
) ENGINE = MergeTree
ORDER BY (match_key, changed_at)"""


REVOKED_SESSION_COLUMNS: Columns = {
    "session_id": ("String", "The signed-out session's random id, from its cookie (useless without the cookie's signature)."),
    "revoked_at": ("DateTime64(3, 'UTC')", "When it was signed out."),
    "expires_at": ("DateTime('UTC')", "When the session would have expired anyway; the row goes then."),
    "revoked_by": ("String", "Whose session it was: the name of the token it was signed in with."),
}

SESSION_TABLE_COLUMNS: dict[str, Columns] = {"revoked_sessions": REVOKED_SESSION_COLUMNS}
"""The table of schema version 8; a test keeps `DESCRIBE` and the README's table of it equal."""


def revoked_sessions() -> str:
    """Page sessions signed out before they expired; every `o11y api` process refuses their cookies. A row lives as long
    as its session would have (at most the session lifetime, 12 hours)."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.revoked_sessions (
{columns_ddl(REVOKED_SESSION_COLUMNS)}
) ENGINE = MergeTree
ORDER BY session_id
TTL expires_at"""


SILENCE_ID_COMMENT = "The silence that held this notification back (decision `silenced`); empty otherwise."
ALERT_EVENTS_SILENCE = f"ALTER TABLE {DB}.alert_events ADD COLUMN IF NOT EXISTS silence_id String COMMENT '{SILENCE_ID_COMMENT}'"
