"""The secrets the suite uses (every log line is checked for them) and the seed worker's test event."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pydantic_core

from schemas.api_metrics import ApiMetricsParams
from schemas.event_message import encode_message, message_from_event, message_key, new_event_ids, timestamp_text
from schemas.session_event import SESSIONS, SessionMetricsParams

SECRET = "test-secret-0123456789"
ROTATED_SECRET = "test-secret-rotated-abcdef"
OTHER_CLIENT_SECRET = "other-client-secret-xyz"
WEBHOOK_TOKEN = "xWebhookToken0o11yTestSecret"
HEARTBEAT_TOKEN = "hb-token-0o11y-test-secret"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
SLACK_BOT_TOKEN = "xoxb-0o11y-test-bot-token-secret"
PD_ROUTING_KEY = "R0o11yTestRoutingKeySecret000000"
"""An Events API v2 integration key: exactly 32 characters, as PagerDuty requires."""
WEBHOOK_BEARER = "am-bearer-0o11y-test-secret"
ALL_SECRETS = (SECRET, ROTATED_SECRET, OTHER_CLIENT_SECRET, "oracle-secret-value", "sustained-secret", WEBHOOK_TOKEN,
               HEARTBEAT_TOKEN, ADMIN_TOKEN, READ_TOKEN, SLACK_BOT_TOKEN, PD_ROUTING_KEY, WEBHOOK_BEARER)


def seed_event(**overrides: Any) -> dict[str, Any]:
    """The seed worker's test fixture (facts §6)."""
    event: dict[str, Any] = {
        "clientSecret": SECRET,
        "kiloUserId": "user_123",
        "organizationId": "org_456",
        "isAnonymous": False,
        "isStreaming": True,
        "userByok": False,
        "mode": "build",
        "provider": "openai",
        "requestedModel": "kilo/auto",
        "resolvedModel": "anthropic/claude-sonnet-4.5",
        "toolsAvailable": ["function:get_weather", "function:searchDocs"],
        "toolsUsed": ["function:searchDocs"],
        "ttfbMs": 45,
        "completeRequestMs": 123,
        "statusCode": 200,
        "tokens": {"inputTokens": 10, "outputTokens": 20, "cacheWriteTokens": 0, "cacheHitTokens": 3, "totalTokens": 30},
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not ...}


def event_messages(count: int, client_name: str, **overrides: Any) -> list[tuple[bytes, bytes]]:
    """Encoded (key, value) pairs exactly as ingest produces them."""
    out = []
    for i in range(count):
        event = ApiMetricsParams.model_validate(seed_event(**{"kiloUserId": f"user-{i}", **overrides}))
        message = message_from_event(event, client_name, datetime.now(timezone.utc))
        out.append((message_key(message), encode_message(message)))
    return out


def session_event(**overrides: Any) -> dict[str, Any]:
    """One finished agent session as the reference worker's session-ingest service sends it (every required field)."""
    event: dict[str, Any] = {
        "clientSecret": SECRET,
        "kiloUserId": "user_123",
        "sessionId": "ses_0001",
        "platform": "vscode",
        "sessionDurationMs": 184_000,
        "timeToFirstResponseMs": 2_300,
        "totalTurns": 4,
        "totalSteps": 17,
        "toolCallsByType": {"read_file": 9, "execute_command": 3},
        "toolErrorsByType": {"execute_command": 1},
        "totalErrors": 1,
        "errorsByType": {"tool_error": 1},
        "stuckToolCallCount": 0,
        "totalTokens": {"input": 52_000, "output": 3_100, "reasoning": 800, "cacheRead": 40_000, "cacheWrite": 6_000},
        "totalCost": 0.4213,
        "compactionCount": 1,
        "autoCompactionCount": 1,
        "terminationReason": "completed",
        "model": "anthropic/claude-sonnet-4.5",
        "ingestVersion": 1,
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not ...}


def session_messages(count: int, client_name: str, **overrides: Any) -> list[tuple[bytes, bytes]]:
    """Encoded (key, value) pairs of sessions exactly as ingest produces them."""
    received = timestamp_text(datetime.now(timezone.utc))
    out = []
    for i, event_id in enumerate(new_event_ids(count)):
        event = SessionMetricsParams.model_validate(session_event(**{"sessionId": f"ses-{i}", **overrides}))
        out.append((SESSIONS.key(event, client_name),
                    SESSIONS.encode(event, pydantic_core.to_json(client_name), received, event_id)))
    return out
