"""The pager's tables: the alert log, incidents, judged ticks, silences and the audit of runtime overrides."""

from __future__ import annotations

from storage.table import Column, Table

_ROUTE = (
    Column("provider", "LowCardinality(String)", "The route's provider."),
    Column("model", "LowCardinality(String)", "The route's model."),
    Column("client_name", "LowCardinality(String)", "The route's client."),
)

ALERT_EVENTS = Table(
    "alert_events", "Every decision of every tick, with its numbers: fired, suppressed, silenced, delivered, failed, "
                    "rejected, unconfirmed, resolved, escalated, stale, degraded.",
    (
        Column("event_time", "DateTime64(3, 'UTC')", "When the decision was logged."),
        Column("tick", "DateTime('UTC')", "The minute the decision is about (window end)."),
        Column("decision", "LowCardinality(String)", "What was decided: fired, suppressed, silenced, delivered, failed "
                                                     "(sent again next tick), rejected (refused for good), unconfirmed, "
                                                     "resolved, escalated, stale, degraded."),
        Column("severity", "LowCardinality(String)", "`page` or `ticket`, after the page-eligibility downgrade."),
        Column("slo", "LowCardinality(String)", "The SLO name, or one of o11y's own: `data_stale`, `paging_reduced`."),
        Column("tier", "LowCardinality(String)", "The tier, e.g. `5m/1m`."),
        *_ROUTE,
        Column("threshold", "Float64", "The tier's burn-rate threshold."),
        Column("burn_long", "Float64", "The long window's burn rate."),
        Column("burn_short", "Float64", "The short window's burn rate."),
        Column("bad_long", "UInt64", "Bad units in the long window: requests, or minutes for `latency_percentile` SLOs."),
        Column("total_long", "UInt64", "All units in the long window."),
        Column("bad_short", "UInt64", "Bad units in the short window."),
        Column("total_short", "UInt64", "All units in the short window."),
        Column("observed_p50_ms", "Nullable(Float64)", "Not filled since schema version 3 (messages give the observed "
                                                       "percentile to the rollup's bounds); kept for older rows."),
        Column("observed_p90_ms", "Nullable(Float64)", "Not filled since schema version 3; kept for older rows."),
        Column("detail", "String", "Why (suppressed, failed, stale, degraded), or the message kind of a delivery row."),
        Column("incident_id", "String", "The incident the decision belongs to (empty for `degraded`). Since schema version 3."),
        Column("silence_id", "String", "The silence that held this notification back (decision `silenced`); empty "
                                       "otherwise. Since schema version 6."),
        Column("receiver", "LowCardinality(String)", "The receiver a delivery row is about (`delivered`, `failed`, "
                                                     "`rejected`, `unconfirmed`, `dry_run`); empty otherwise. Since "
                                                     "schema version 14."),
    ),
    engine="MergeTree", order_by="(event_time, slo, provider, model, client_name)", since=1,
    partition_by="toYYYYMM(event_time)", ttl=lambda r: f"toDateTime(event_time) + INTERVAL {r.alert_days} DAY",
)

INCIDENTS = Table(
    "incidents", "Every revision of every incident; the highest `revision` of an `incident_id` is its state.",
    (
        Column("incident_id", "String", "UUID of the incident, kept across re-opens."),
        Column("revision", "UInt32", "Revision number: the highest is the incident's state."),
        Column("updated_at", "DateTime64(3, 'UTC')", "When this revision was written (wall clock)."),
        Column("severity", "LowCardinality(String)", "`page` or `ticket`."),
        Column("slo", "LowCardinality(String)", "The SLO that burns, or `data_stale`, `paging_reduced`."),
        *_ROUTE,
        Column("status", "LowCardinality(String)", "`open`, `resolved` or `escalated`."),
        Column("tier", "LowCardinality(String)", "The tier that tripped most recently."),
        Column("started_at", "DateTime('UTC')", "The first bad minute."),
        Column("opened_at", "DateTime('UTC')", "The tick at which it last opened or re-opened."),
        Column("judged_at", "DateTime('UTC')", "The last tick that judged it."),
        Column("resolved_at", "Nullable(DateTime('UTC'))", "The tick at which it resolved (NULL while open)."),
        Column("clear_ticks", "UInt16", "Ticks in a row without a trip (towards `resolve_after_ticks`)."),
        Column("reopened", "Array(DateTime('UTC'))", "The ticks at which it re-opened."),
        Column("notified", "Bool", "Its (re-)opening reached Slack, or went out with an unknown outcome."),
        Column("resolve_notified", "Bool", "Its resolve reached Slack, or went out with an unknown outcome."),
        Column("bad_events", "UInt64", "Bad units while it was open: the window that opened it, then every later minute."),
        Column("total_events", "UInt64", "All units while it was open."),
        Column("peak_burn", "Float64", "The highest long-window burn rate seen."),
    ),
    engine="ReplacingMergeTree(revision)", order_by="incident_id", since=3,
    ttl=lambda r: f"toDateTime(updated_at) + INTERVAL {r.alert_days} DAY", sharding="cityHash64(incident_id)",
)

ALERT_TICKS = Table(
    "alert_ticks", "Every tick of the evaluator: the minute it judged (or why not), how fresh the data was, how long it took.",
    (
        Column("tick", "DateTime('UTC')", "The minute judged (window end)."),
        Column("evaluated_at", "DateTime64(3, 'UTC')", "When the tick ran."),
        Column("outcome", "LowCardinality(String)", "`judged`, `stale`, or `waiting` when nothing new was loaded yet."),
        Column("watermark", "Nullable(DateTime64(3, 'UTC'))", "The loader's watermark the tick saw."),
        Column("duration_s", "Float64", "How long the tick took."),
        Column("decisions", "UInt32", "Decisions it logged."),
        Column("evaluator", "String", "Which evaluator ran it (host:pid)."),
    ),
    engine="MergeTree", order_by="(tick, evaluated_at)", since=3, partition_by="toYYYYMM(evaluated_at)",
    ttl=lambda r: f"toDateTime(evaluated_at) + INTERVAL {r.alert_days} DAY",
)

SILENCES = Table(
    "silences", "Every revision of every silence; the highest `revision` of a `silence_id` is its state.",
    (
        Column("silence_id", "String", "The silence's id, as `o11y silence list` and `/v1/silences` show it."),
        Column("revision", "UInt32", "The highest revision is the silence's state (expiring it writes one more)."),
        Column("updated_at", "DateTime64(3, 'UTC')", "When this revision was written."),
        Column("slo", "String", "SLO name or glob pattern it silences; empty: any SLO."),
        Column("severity", "LowCardinality(String)", "`page`, `ticket`, or empty: either."),
        Column("provider", "String", "Provider name or glob pattern; empty: any."),
        Column("model", "String", "Model name or glob pattern; empty: any."),
        Column("client_name", "String", "Client name or glob pattern; empty: any."),
        Column("starts_at", "DateTime('UTC')", "From when it silences (inclusive)."),
        Column("ends_at", "DateTime('UTC')", "Until when (exclusive); expiring it sets this to the moment of expiry."),
        Column("created_by", "String", "Who created it: the admin token's name, or the author given to `o11y silence add`."),
        Column("comment", "String", "Why, in the author's words."),
        Column("expired_by", "String", "Who expired it before its end; empty otherwise."),
    ),
    engine="ReplacingMergeTree(revision)", order_by="silence_id", since=6,
    ttl=lambda r: f"ends_at + INTERVAL {r.alert_days} DAY", sharding="cityHash64(silence_id)",
)

SLO_OVERRIDE_CHANGES = Table(
    "slo_override_changes", "Every change of a runtime SLO override, kept: the overrides in force are the latest `put` "
                            "per match.",
    (
        Column("changed_at", "DateTime64(3, 'UTC')", "When the override changed."),
        Column("match_key", "String", "The override's identity, its match: e.g. `model=free/*,slo=error_rate`."),
        Column("action", "LowCardinality(String)", "`put` (created or replaced) or `delete`."),
        Column("override", "String", "The override as JSON after the change; empty for `delete`."),
        Column("previous", "String", "The override as JSON before the change; empty when there was none."),
        Column("changed_by", "String", "Who: the admin token's name."),
    ),
    engine="MergeTree", order_by="(match_key, changed_at)", since=6, sharding="cityHash64(match_key)",
)

DELIVERIES = Table(
    "deliveries", "What each receiver has of each incident: every revision kept; the highest `revision` of an "
                  "(`incident_id`, `receiver`) is its state.",
    (
        Column("incident_id", "String", "The incident."),
        Column("receiver", "LowCardinality(String)", "The receiver's name in the policy (`slack-page` and `slack-ticket` "
                                                     "are the two webhooks of the zero-configuration default)."),
        Column("revision", "UInt32", "Revision number: the highest is the state."),
        Column("updated_at", "DateTime64(3, 'UTC')", "When this revision was written (wall clock)."),
        Column("kind", "LowCardinality(String)", "The receiver's kind: `slack_webhook`, `slack_app`, `pagerduty`, `webhook`."),
        Column("step", "String", "The incident's state last sent: `open:N` (N re-opens before it), `resolved:N`, "
                                 "`escalated`."),
        Column("outcome", "LowCardinality(String)", "`delivered`, `failed` (sent again next tick), `rejected` (refused "
                                                    "for good: it needs a person), `unconfirmed` (sent with no answer: "
                                                    "never sent again), `skipped` (nothing to say: a Slack webhook gets no "
                                                    "message for an escalation, a webhook with `send_resolved: false` "
                                                    "none for a resolve) or `dry_run`."),
        Column("answer", "String", "What the receiver answered, without credentials: e.g. `202`, `ok`, "
                                   "`channel_not_found`, `HTTP 429`, `timeout`."),
        Column("attempts", "UInt16", "Sends of this step so far."),
        Column("thread", "String", "`slack_app`: the channel id and the `ts` of the incident's one message "
                                   "(`C0123/1700000000.000100`); empty otherwise."),
        Column("shown", "String", "`slack_app`: the state that message shows (`open`, `reopened:2`, `silenced:<id>`, "
                                  "`escalated`, `resolved:2`)."),
    ),
    engine="ReplacingMergeTree(revision)", order_by="(incident_id, receiver)", since=14,
    ttl=lambda r: f"toDateTime(updated_at) + INTERVAL {r.alert_days} DAY", sharding="cityHash64(incident_id)",
)
