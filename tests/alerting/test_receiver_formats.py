"""What PagerDuty, an Alertmanager-format receiver and the Slack app get for an incident, pinned by golden files.

Regenerate after an intended change with: O11Y_UPDATE_GOLDEN=1 python -m pytest tests/alerting/test_receiver_formats.py
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from alerting.delivery.slack_messages import alert_message, page_links, resolve_message
from alerting.delivery.stale_data import STALE_KEY
from alerting.incidents.incidents import Incident, Notice, NoticeKind
from alerting.incidents.silences import Silence
from alerting.receivers.alertmanager_format import alert_labels, fingerprint, webhook_message
from alerting.receivers.pagerduty_format import pagerduty_event
from alerting.receivers.slack_thread_format import parent_message, parent_state, reply_message
from alerting.rules.burn_rate import WindowCount
from alerting.rules.decisions import TierReading
from alerting.rules.window_query import WindowCounts
from schemas.alert_policy import default_policy, seed_policy
from schemas.slo_spec import SloSpec

GOLDEN = Path(__file__).parent / "golden"
ERROR = seed_policy().slos[0]
SESSIONS = default_policy().slos[3]
END = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)
ROUTE = ("openai", "gpt-4", "kilo-gateway")
SESSION_ROUTE = ("vscode", "anthropic/claude-sonnet-4.5", "kilo-sessions")
PUBLIC = "https://o11y.example.com/"
KEY = "R0o11yExampleIntegrationKey00000"
"""32 characters, as PagerDuty wants an integration key."""
HOSTILE = "<!channel> <https://evil.example/login|Open runbook> & <@U024BE7LH>"


def check(name: str, actual: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("O11Y_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}: run with O11Y_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def incident(severity: str = "page", route: tuple[str, str, str] = ROUTE, slo: str = "error_rate", **fields: Any) -> Incident:
    values: dict[str, Any] = {"id": "6f1c2a9e-5b1d-4c1e-9d7a-2f0b8e4c1a11", "key": (severity, slo, *route), "status": "open",
                              "tier": "5m/1m", "started_at": END - timedelta(minutes=4), "opened_at": END, "judged_at": END,
                              "bad": 212, "total": 2950, "peak_burn": 89.8, "notified": True}
    return Incident(**{**values, **fields})


def reading(slo: SloSpec = ERROR, route: tuple[str, str, str] = ROUTE, long: tuple[int, int] = (37, 412),
            short: tuple[int, int] = (12, 80)) -> TierReading:
    window = slo.windows[0]
    counts = {(slo.name, window.long_minutes): WindowCount(*long), (slo.name, window.short_minutes): WindowCount(*short)}
    return TierReading(slo, window, route, END, WindowCounts(counts, {}, {}, {}, {}))


OPEN = incident()
REOPENED = incident(opened_at=END + timedelta(minutes=40), judged_at=END + timedelta(minutes=40),
                    reopened=(END + timedelta(minutes=20), END + timedelta(minutes=40)))
RESOLVED = incident(status="resolved", resolved_at=END + timedelta(minutes=95), judged_at=END + timedelta(minutes=95),
                    reopened=(END + timedelta(minutes=20),))
ESCALATED = incident("ticket", status="escalated", resolved_at=END + timedelta(minutes=50), judged_at=END + timedelta(minutes=50))
SILENCE = Silence("s1lence0001", "error_rate", "", "openai", "", "", END, END + timedelta(hours=2), "alice@example.com",
                  "provider maintenance until 18:30", "", 0)
STALE = Incident("0d7e3b52-1a4f-4b8e-9c2d-7e6f5a4b3c2d", STALE_KEY, "open", "freshness", END - timedelta(minutes=6), END, END)

PARENTS = {
    "open": (OPEN, None, ""),
    "reopened:2": (REOPENED, None, ""),
    "silenced:s1lence0001": (incident("ticket"), SILENCE, ""),
    "escalated": (ESCALATED, None, "9a8b7c6d-0000-4000-8000-000000000001"),
    "resolved:1": (RESOLVED, None, ""),
}


def parent(state: str, slo: SloSpec | None = ERROR) -> dict[str, Any]:
    case, silence, escalated_to = PARENTS[state]
    return parent_message(case, slo, silence, PUBLIC, escalated_to)


# PagerDuty


def test_a_summary_longer_than_pagerduty_takes_is_cut_to_1024_characters_ending_in_an_ellipsis() -> None:
    """PagerDuty answers 400 to a longer summary and the page is lost; it is cut by characters, not bytes."""
    long = incident(route=("openai", "é" * 2000, "kilo-gateway"))
    summary = pagerduty_event(Notice("opened", long, None), KEY, None, ERROR)["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("é…") and summary.startswith("PAGE: Error Rate burning on openai éé")
    fits = incident(route=("openai", "m" * (1024 - len("PAGE: Error Rate burning on openai  (kilo-gateway)")), "kilo-gateway"))
    whole = pagerduty_event(Notice("opened", fits, None), KEY, None, ERROR)["payload"]["summary"]
    assert len(whole) == 1024 and whole.endswith("m (kilo-gateway)")


@pytest.mark.parametrize(("severity", "expected"), [("page", "critical"), ("ticket", "warning")])
def test_a_page_triggers_a_critical_alert_and_a_ticket_a_warning(severity: str, expected: str) -> None:
    event = pagerduty_event(Notice("opened", incident(severity), reading()), KEY, None, ERROR)
    assert (event["event_action"], event["payload"]["severity"]) == ("trigger", expected)
    assert event["payload"]["summary"] == f"{severity.upper()}: Error Rate burning on openai gpt-4 (kilo-gateway)"


@pytest.mark.parametrize("kind", ["resolved", "escalated"])
def test_a_resolve_carries_only_the_routing_key_the_action_and_the_incidents_key(kind: NoticeKind) -> None:
    ended = RESOLVED if kind == "resolved" else ESCALATED
    trigger = pagerduty_event(Notice("opened", OPEN, reading()), KEY, PUBLIC, ERROR)
    assert pagerduty_event(Notice(kind, ended, None), KEY, PUBLIC, ERROR) == {
        "routing_key": KEY, "event_action": "resolve", "dedup_key": trigger["dedup_key"]}
    assert trigger["dedup_key"] == OPEN.id


def test_a_session_trigger_names_the_route_by_its_words_and_links_the_pages_slack_links() -> None:
    case = incident(route=SESSION_ROUTE, slo=SESSIONS.name, tier="15m/3m")
    event = pagerduty_event(Notice("reopened", case, reading(SESSIONS, SESSION_ROUTE, (41, 120), (15, 24))), KEY, PUBLIC, None)
    payload = event["payload"]
    assert (payload["component"], payload["group"], payload["class"]) == ("vscode", "anthropic/claude-sonnet-4.5",
                                                                          "session_failures")
    assert {word: payload["custom_details"][word] for word in ("platform", "model", "client")} == dict(
        zip(("platform", "model", "client"), SESSION_ROUTE, strict=True))
    slack = page_links(case, PUBLIC, "sessions")
    assert [f"<{link['href']}|{link['text']}>" for link in event["links"]] == slack
    assert event["client_url"] == event["links"][1]["href"] and payload["timestamp"] == "2026-11-22T16:30:00Z"


def test_pagerduty_trigger_matches_its_golden_file() -> None:
    check("pagerduty_trigger.json", pagerduty_event(Notice("opened", OPEN, reading()), KEY, PUBLIC, ERROR))


# Alertmanager


def fnv1a_64(data: bytes) -> int:
    """FNV-1a, 64 bits, from its definition: start at the offset basis; per byte, xor it in, then multiply by the
    FNV prime modulo 2**64."""
    value = 14695981039346656037
    for byte in data:
        value = ((value ^ byte) * 1099511628211) % 2**64
    return value


@pytest.mark.parametrize(("labels", "expected"), [
    ({}, "cbf29ce484222325"),
    # prometheus/common model/signature_test.go
    ({"name": "garland, briggs", "fear": "love is not enough"}, f"{5799056148416392346:016x}"),
    ({"first-label": "first-label-value"}, f"{5146282821936882169:016x}"),
    # by hand: the names sorted, each name and value followed by 0xFF
    ({"model": "gpt-4", "alertname": "error_rate", "client": "kilo—gateway"},
     format(fnv1a_64(b"alertname\xfferror_rate\xffclient\xffkilo\xe2\x80\x94gateway\xffmodel\xffgpt-4\xff"), "016x")),
], ids=["empty", "prometheus' own", "one label", "computed here"])
def test_the_fingerprint_is_prometheus_common_s(labels: dict[str, str], expected: str) -> None:
    assert fingerprint(labels) == expected


def test_an_incident_keeps_its_fingerprint_across_re_opens_while_starts_at_moves() -> None:
    openings: list[tuple[NoticeKind, Incident]] = [("opened", OPEN), ("reopened", REOPENED)]
    firing = [webhook_message("o11y", [Notice(kind, case, reading())], PUBLIC, lambda _: ERROR)["alerts"][0]
              for kind, case in openings]
    resolved = webhook_message("o11y", [Notice("resolved", RESOLVED, None)], PUBLIC, lambda _: ERROR)["alerts"][0]
    assert len({alert["fingerprint"] for alert in [*firing, resolved]}) == 1
    assert [alert["startsAt"] for alert in firing] == ["2026-11-22T16:30:00Z", "2026-11-22T17:10:00Z"]
    assert [alert["endsAt"] for alert in firing] == ["0001-01-01T00:00:00Z"] * 2
    assert (resolved["status"], resolved["endsAt"]) == ("resolved", "2026-11-22T18:05:00Z")
    other = replace(OPEN, id="1d2c3b4a-0000-4000-8000-000000000002")
    assert fingerprint(alert_labels(other, ERROR)) != firing[0]["fingerprint"]


def test_an_escalated_ticket_is_a_resolved_alert_ending_at_the_tick() -> None:
    message = webhook_message("o11y", [Notice("escalated", ESCALATED, None)], PUBLIC, lambda _: ERROR)
    assert (message["status"], message["notification_reason"]) == ("resolved", "all alerts resolved")
    assert message["alerts"][0]["endsAt"] == "2026-11-22T17:20:00Z"


def test_incidents_of_one_slo_share_the_labels_they_have_in_common() -> None:
    other = incident(route=("openai", "gpt-4o", "kilo-gateway"), id="1d2c3b4a-0000-4000-8000-000000000002")
    message = webhook_message("o11y", [Notice("opened", OPEN, reading()), Notice("resolved", replace(
        other, status="resolved", resolved_at=END), None)], PUBLIC, lambda _: ERROR)
    assert message["commonLabels"] == {"alertname": "error_rate", "severity": "page", "provider": "openai",
                                       "client": "kilo-gateway", "source": "o11y"}
    assert (message["groupKey"], message["groupLabels"]) == ('{}:{alertname="error_rate"}', {"alertname": "error_rate"})
    assert (message["status"], message["notification_reason"]) == ("firing", "some alerts resolved")
    alone = webhook_message("o11y", [Notice("opened", OPEN, reading())], PUBLIC, lambda _: ERROR)
    assert alone["groupKey"] == '{}:{incident_id="6f1c2a9e-5b1d-4c1e-9d7a-2f0b8e4c1a11"}'
    assert alone["commonLabels"] == alone["alerts"][0]["labels"]


@pytest.mark.parametrize(("kinds", "reason"), [
    (["opened"], "first notification"),
    (["reopened"], "new alerts added"),
    (["opened", "reopened"], "new alerts added"),
    (["resolved"], "all alerts resolved"),
    (["resolved", "escalated"], "all alerts resolved"),
    (["opened", "resolved"], "some alerts resolved"),
], ids=lambda value: "+".join(value) if isinstance(value, list) else value)
def test_the_notification_reason_says_why_the_message_goes_out(kinds: list[NoticeKind], reason: str) -> None:
    cases = {"opened": OPEN, "reopened": REOPENED, "resolved": RESOLVED, "escalated": ESCALATED}
    notices = [Notice(kind, replace(cases[kind], id=f"id-{i}"), None) for i, kind in enumerate(kinds)]
    assert webhook_message("o11y", notices, "", lambda _: ERROR)["notification_reason"] == reason


def test_alertmanager_message_matches_its_golden_file() -> None:
    check("alertmanager_message.json", webhook_message("o11y-pager", [Notice("opened", OPEN, reading())], PUBLIC,
                                                        lambda _: ERROR))


# Slack app threads


def blocks_slack_takes(body: dict[str, Any]) -> None:
    """Every block as slack_sdk's models check it (header ≤150, section ≤3000, ≤10 fields, context ≤10 elements),
    and what they do not check: ≤50 blocks, a field's text ≤2000."""
    assert body["text"] and 0 < len(body["blocks"]) <= 50
    for block in body["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
        assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))


def read_as_mrkdwn(node: Any) -> list[str]:
    if isinstance(node, list):
        return [text for item in node for text in read_as_mrkdwn(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "mrkdwn" else []
    return own + [text for value in node.values() for text in read_as_mrkdwn(value)]


@pytest.mark.parametrize("state", sorted(PARENTS))
def test_the_parent_shows_its_state_with_text_and_blocks(state: str) -> None:
    case, silence, _ = PARENTS[state]
    assert parent_state(case, silence.id if silence else "") == state
    body = parent(state)
    blocks_slack_takes(body)
    check(f"slack_parent_{state.split(':')[0]}.json", body)


def test_each_state_changes_what_the_parent_says() -> None:
    bodies = [parent(state) for state in PARENTS]
    assert len({json.dumps(body) for body in bodies}) == len(PARENTS)
    assert len({body["text"] for body in bodies}) == len(PARENTS)


def test_an_incident_that_ended_shows_that_even_while_a_silence_matches() -> None:
    assert parent_state(RESOLVED, SILENCE.id) == "resolved:1"
    assert "Silenced" not in json.dumps(parent_message(RESOLVED, ERROR, SILENCE, PUBLIC))


def test_o11ys_own_incident_has_a_parent_too() -> None:
    body = parent_message(STALE, None, None, PUBLIC)
    blocks_slack_takes(body)
    check("slack_parent_stale.json", body)


def test_names_from_events_never_ping_or_link_and_the_longest_fit_slacks_limits() -> None:
    """Route parts come from gateways and silences from people: `<!channel>` is text wherever Slack reads mrkdwn."""
    names = (HOSTILE, (HOSTILE * 5)[:256], "&" * 256)
    silence = replace(SILENCE, created_by=HOSTILE, comment=("&<" * 250))
    long_title = ERROR.model_copy(update={"title": "T" * 200})
    ended = incident(route=names, status="resolved", resolved_at=END)
    bodies = [parent_message(incident(route=names), long_title, silence, PUBLIC),
              parent_message(ended, long_title, silence, PUBLIC),
              reply_message(Notice("resolved", ended, None), PUBLIC, long_title),
              reply_message(Notice("escalated", replace(ended, status="escalated"), None), PUBLIC, long_title)]
    for body in bodies:
        blocks_slack_takes(body)
        texts = [body["text"], *read_as_mrkdwn(body["blocks"])]
        assert all("<!channel>" not in text and "<https://evil" not in text and "<@U" not in text for text in texts)
        assert any("&lt;!channel&gt;" in text for text in texts)


def test_replies_reuse_the_alert_and_resolve_messages_when_there_is_a_reading() -> None:
    notice = Notice("reopened", REOPENED, reading())
    assert reply_message(notice, PUBLIC) == alert_message(notice, public_url=PUBLIC)
    resolve = Notice("resolved", RESOLVED, reading(long=(1, 512), short=(0, 98)))
    assert reply_message(resolve, PUBLIC) == resolve_message(resolve, PUBLIC)


def test_a_resolve_without_a_reading_says_how_long_it_lasted() -> None:
    body = reply_message(Notice("resolved", RESOLVED, None), PUBLIC, ERROR)
    blocks_slack_takes(body)
    assert "Lasted 1 h 39 min, from 16:26 UTC to 18:05 UTC." in body["text"]
    check("slack_reply_resolved_without_reading.json", body)


def test_an_escalation_reply_says_the_page_of_the_same_slo_and_route_carries_it() -> None:
    body = reply_message(Notice("escalated", ESCALATED, None), PUBLIC, ERROR)
    blocks_slack_takes(body)
    assert body["text"] == (":arrow_up: Escalated: now paging as :rotating_light: PAGE — Error Rate: openai gpt-4 "
                            "(kilo-gateway). The page of the same SLO and route carries it from 17:20 UTC.")
    check("slack_reply_escalated.json", body)
