"""The receivers' stand-ins answer as Slack's Web API, PagerDuty's Events API v2 and an Alertmanager receiver do."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import warnings
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from support.events import PD_ROUTING_KEY, SLACK_BOT_TOKEN, WEBHOOK_BEARER
from support.fake_alertmanager import FakeAlertmanagerReceiver
from support.fake_pagerduty import FakePagerDuty
from support.fake_slack_api import FakeSlackApi

ALERTS, OUTSIDE = "C0ALERTS01", "C0OUTSIDE1"


def bot(slack_api: FakeSlackApi, token: str | None = SLACK_BOT_TOKEN) -> WebClient:
    return WebClient(token=token, base_url=slack_api.base_url)


def test_parents_replies_and_updates_read_back_as_slack_shows_them(slack_api: FakeSlackApi) -> None:
    client = bot(slack_api)
    metadata = {"event_type": "o11y_incident", "event_payload": {"incident_id": "inc-1"}}
    parent = client.chat_postMessage(channel="#o11y-alerts", text="PAGE: Error Rate", metadata=metadata,
                                     blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*PAGE*"}}])
    reply = client.chat_postMessage(channel=ALERTS, text="Resolved", thread_ts=parent["ts"])
    lost = client.chat_postMessage(channel=ALERTS, text="Lost", thread_ts="1000000000.000001")
    ticket = client.chat_postMessage(channel=ALERTS, text="TICKET: Latency")
    update = client.chat_update(channel=ALERTS, ts=parent["ts"], text="RESOLVED: Error Rate")
    history = client.conversations_history(channel=ALERTS, include_all_metadata=True)

    assert parent["channel"] == ALERTS and re.fullmatch(r"\d{10}\.\d{6}", parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"] and parent["ts"] < reply["ts"] < ticket["ts"]
    assert lost["ok"] and slack_api.strays == [(ALERTS, lost["message"])]  # Slack accepts it and shows it nowhere
    assert "blocks" not in update["message"]  # text without blocks removes the blocks
    assert [(m["ts"], m["text"], m.get("reply_count")) for m in history["messages"]] == [
        (ticket["ts"], "TICKET: Latency", None), (parent["ts"], "RESOLVED: Error Rate", 1)]
    assert history["messages"][1]["metadata"] == metadata
    assert [m["text"] for m in slack_api.replies(ALERTS, parent["ts"])] == ["Resolved"]
    assert [(channel, ts) for channel, ts, _ in slack_api.updates] == [(ALERTS, parent["ts"])]


SLACK_REFUSALS = {
    "no token": (None, "chat_postMessage", {"channel": ALERTS, "text": "x"}, "not_authed"),
    "an unknown token": ("xoxb-not-this-bot", "chat_postMessage", {"channel": ALERTS, "text": "x"}, "invalid_auth"),
    "an unknown channel": (SLACK_BOT_TOKEN, "chat_postMessage", {"channel": "C0NOSUCH01", "text": "x"}, "channel_not_found"),
    "a channel the bot is not in": (SLACK_BOT_TOKEN, "chat_postMessage", {"channel": OUTSIDE, "text": "x"}, "not_in_channel"),
    "neither text nor blocks": (SLACK_BOT_TOKEN, "chat_postMessage", {"channel": ALERTS}, "no_text"),
    "an update of no message": (SLACK_BOT_TOKEN, "chat_update", {"channel": ALERTS, "ts": "1000000000.000001", "text": "x"},
                                "message_not_found"),
}


@pytest.mark.parametrize(("token", "method", "arguments", "error"), SLACK_REFUSALS.values(), ids=SLACK_REFUSALS.keys())
def test_a_refused_slack_call_is_http_200_with_the_error_and_shows_nothing(
        slack_api: FakeSlackApi, token: str | None, method: str, arguments: dict[str, Any], error: str) -> None:
    with pytest.raises(SlackApiError) as refused, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # slack_sdk warns of a message without text, rightly
        getattr(bot(slack_api, token), method)(**arguments)
    assert (refused.value.response.status_code, refused.value.response["error"]) == (200, error)
    assert slack_api.parents(ALERTS) == []


def test_a_ratelimited_slack_call_is_http_429_with_retry_after_and_shows_nothing(slack_api: FakeSlackApi) -> None:
    slack_api.ratelimit(1, retry_after="7")
    with pytest.raises(SlackApiError) as limited:
        bot(slack_api).chat_postMessage(channel=ALERTS, text="PAGE")
    response = limited.value.response
    assert (response.status_code, response.headers["Retry-After"], response["error"]) == (429, "7", "ratelimited")
    assert slack_api.parents(ALERTS) == []
    bot(slack_api).chat_postMessage(channel=ALERTS, text="PAGE")
    assert [m["text"] for m in slack_api.parents(ALERTS)] == ["PAGE"]


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read()


def trigger(**payload: str) -> dict[str, Any]:
    return {"routing_key": PD_ROUTING_KEY, "event_action": "trigger", "dedup_key": "inc-1",
            "payload": {"summary": "PAGE: Error Rate burning", "source": "o11y", "severity": "critical", **payload}}


def test_an_accepted_event_is_202_with_its_dedup_key(pagerduty: FakePagerDuty) -> None:
    status, body = post(pagerduty.enqueue_url, trigger(), {})
    assert (status, json.loads(body)) == (202, {"status": "success", "message": "Event processed", "dedup_key": "inc-1"})


PD_REFUSALS = {
    "a 31-character routing key": ({**trigger(), "routing_key": PD_ROUTING_KEY[:31]}, "routing_key"),
    "a summary of 1025 characters": (trigger(summary="x" * 1025), "summary"),
    "a resolve without dedup_key": ({"routing_key": PD_ROUTING_KEY, "event_action": "resolve"}, "dedup_key"),
}


@pytest.mark.parametrize(("event", "field"), PD_REFUSALS.values(), ids=PD_REFUSALS.keys())
def test_an_invalid_event_is_400_with_errors_naming_the_field(
        pagerduty: FakePagerDuty, event: dict[str, Any], field: str) -> None:
    status, body = post(pagerduty.enqueue_url, event, {})
    answer = json.loads(body)
    assert (status, answer["status"], answer["message"]) == (400, "invalid event", "Event object is invalid")
    assert [field in error for error in answer["errors"]] == [True]
    assert pagerduty.events == []


def test_a_throttled_event_is_429_with_an_empty_body_and_opens_nothing(pagerduty: FakePagerDuty) -> None:
    pagerduty.status(1, 429)
    assert post(pagerduty.enqueue_url, trigger(), {}) == (429, b"")
    assert pagerduty.alerts == []


def test_a_trigger_after_a_resolve_of_its_dedup_key_opens_a_second_alert(pagerduty: FakePagerDuty) -> None:
    resolve = {"routing_key": PD_ROUTING_KEY, "event_action": "resolve", "dedup_key": "inc-1"}
    assert [post(pagerduty.enqueue_url, event, {})[0] for event in (trigger(), trigger(), resolve, trigger())] == [202] * 4
    assert [(alert.status, alert.triggers) for alert in pagerduty.alerts if alert.dedup_key == "inc-1"] == [
        ("resolved", 2), ("triggered", 1)]


LABELS = {"name": "garland, briggs", "fear": "love is not enough"}
FINGERPRINT = f"{5799056148416392346:016x}"
"""prometheus/common's own test value for LABELS (model/signature_test.go)."""
ALERT = {"status": "firing", "labels": LABELS, "annotations": {"summary": "Error Rate"}, "generatorURL": "",
         "startsAt": "2026-01-05T12:05:00.123456789Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": FINGERPRINT}


def am_message(**changes: Any) -> dict[str, Any]:
    return {"version": "4", "groupKey": '{}:{incident_id="inc-1"}', "truncatedAlerts": 0, "status": "firing", "receiver": "o11y",
            "groupLabels": {}, "commonLabels": LABELS, "commonAnnotations": ALERT["annotations"], "externalURL": "",
            "notification_reason": "first notification", "alerts": [ALERT], **changes}


def test_a_version_4_message_is_accepted_and_kept_by_fingerprint(am_receiver: FakeAlertmanagerReceiver) -> None:
    assert post(am_receiver.url, am_message(), {"Authorization": f"Bearer {WEBHOOK_BEARER}"})[0] == 200
    assert am_receiver.by_fingerprint == {FINGERPRINT: [ALERT]}


AM_REFUSALS = {
    "version 3": (am_message(version="3"), f"Bearer {WEBHOOK_BEARER}", 400),
    "a fingerprint not of its labels": (am_message(alerts=[{**ALERT, "fingerprint": "cbf29ce484222325"}]),
                                        f"Bearer {WEBHOOK_BEARER}", 400),
    "no bearer token": (am_message(), "", 401),
}


@pytest.mark.parametrize(("message", "authorization", "status"), AM_REFUSALS.values(), ids=AM_REFUSALS.keys())
def test_a_message_alertmanager_would_not_send_or_without_the_token_is_refused(
        am_receiver: FakeAlertmanagerReceiver, message: dict[str, Any], authorization: str, status: int) -> None:
    assert post(am_receiver.url, message, {"Authorization": authorization} if authorization else {})[0] == status
    assert am_receiver.messages == [] and [refused for refused, _ in am_receiver.refusals] == [status]
