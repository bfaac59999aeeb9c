"""A Slack app (bot token): one message per incident, updated in place as its state changes, and a thread reply for
each re-open, escalation and resolve. The message's `ts` is kept where incidents live, so nothing posts it twice."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from alerting.receivers.channels import Body, Parcel, Sent
from alerting.receivers.slack_thread_format import parent_message, parent_state, reply_message
from alerting.receivers.slack_webhook import QUIET

log = logging.getLogger(__name__)
TRY_AGAIN = frozenset({"ratelimited", "rate_limited", "message_limit_exceeded", "service_unavailable", "internal_error",
                       "fatal_error", "request_timeout"})
"""Slack errors that pass: sent again next tick. Any other (`channel_not_found`, `not_in_channel`, `invalid_auth`, …)
needs a person: refused for good, logged."""
EVENT_TYPE = "o11y_incident"
HISTORY_LIMIT = 200


class SlackApp:
    kind = "slack_app"

    def __init__(self, name: str, token: str, channel: str, api_url: str, timeout_s: int,
                 public_url: str | None = None) -> None:
        self._name, self._channel, self._public_url = name, channel, public_url
        self._client = WebClient(token=token, base_url=api_url, timeout=timeout_s, logger=QUIET, retry_handlers=[])
        self._quiet = (0.0, 0.0)
        """The tick (its deadline) in which Slack asked to wait (429 Retry-After), and until when: the rest of that
        tick's calls wait for the next tick, which tries once more."""

    def send(self, parcel: Parcel, deadline: float) -> Sent:
        try:
            return self._send(parcel, deadline)
        except _Stop as stop:
            if stop.sent.outcome != "delivered":
                log.error("Slack app receiver %s, incident %s: %s (%s)", self._name, parcel.notice.incident.id,
                          stop.sent.outcome, stop.sent.answer)
            return stop.sent

    def _send(self, parcel: Parcel, deadline: float) -> Sent:
        incident = parcel.notice.incident
        shown = parent_state(incident, parcel.silence.id if parcel.silence else "")
        thread = parcel.receipt.thread if parcel.receipt else ""
        if not thread and parcel.receipt is not None and parcel.receipt.outcome == "unconfirmed":
            thread = self._find(incident.id, deadline)
        if parcel.step == "sync":
            return self._update(thread, parcel, shown, deadline) if thread else Sent("skipped", "no message to update")
        if not thread:
            return self._post_parent(parcel, shown, deadline)
        if parcel.step == "open:0":
            return self._update(thread, parcel, shown, deadline)
        channel, ts = thread.split("/", 1)
        reply = reply_message(parcel.notice, self._public_url, parcel.slo)
        self._call("chat_postMessage", deadline, channel=channel, thread_ts=ts, **reply)
        updated = self._update(thread, parcel, shown, deadline, quiet=True)
        kept = "" if updated.outcome == "delivered" else f"; message not updated ({updated.answer})"
        return Sent("delivered", f"ok: reply{kept}", thread, updated.shown)

    def _post_parent(self, parcel: Parcel, shown: str, deadline: float) -> Sent:
        body = self._parent(parcel)
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"incident_id": parcel.notice.incident.id}}
        answer = self._call("chat_postMessage", deadline, channel=self._channel, metadata=metadata, **body)
        return Sent("delivered", "ok: message posted", f"{answer['channel']}/{answer['ts']}", shown)

    def _update(self, thread: str, parcel: Parcel, shown: str, deadline: float, quiet: bool = False) -> Sent:
        channel, ts = thread.split("/", 1)
        try:
            self._call("chat_update", deadline, channel=channel, ts=ts, **self._parent(parcel))
        except _Stop as stop:
            if not quiet:
                raise
            return stop.sent
        return Sent("delivered", "ok: message updated", thread, shown)

    def _parent(self, parcel: Parcel) -> Body:
        return parent_message(parcel.notice.incident, parcel.slo, parcel.silence, self._public_url, parcel.escalated_to)

    def _find(self, incident_id: str, deadline: float) -> str:
        """The incident's message, when an earlier post got no answer: by its metadata in the channel's history."""
        try:
            answer = self._call("conversations_history", deadline, channel=self._channel, limit=HISTORY_LIMIT,
                                include_all_metadata=True)
        except _Stop:
            return ""
        for message in answer.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("incident_id") == incident_id and message.get("ts"):
                return f"{answer.get('channel') or self._channel}/{message['ts']}"
        return ""

    def _call(self, method: str, deadline: float, **arguments: Any) -> Any:
        """One Web API call, again once when Slack asks to wait less than the time left; `_Stop` with the outcome."""
        for attempt in (1, 2):
            if self._quiet[0] == deadline and time.monotonic() < self._quiet[1]:
                raise _Stop(Sent("failed", "Slack asked to wait (Retry-After): next tick"))
            try:
                return getattr(self._client, method)(**arguments).data
            except SlackApiError as err:
                wait = self._refused(err, deadline)
                if wait is None or attempt == 2 or time.monotonic() + wait + 1 > deadline:
                    raise _Stop(_outcome(err)) from None
                time.sleep(wait)
            except URLError as err:
                raise _Stop(Sent("failed", f"unreachable ({type(err.reason).__name__})")) from None
            except Exception as err:  # noqa: BLE001 - sent, but no answer: never sent again
                raise _Stop(Sent("unconfirmed", f"no answer ({type(err).__name__})")) from None
        raise AssertionError("unreachable")

    def _refused(self, err: SlackApiError, deadline: float) -> float | None:
        """Seconds to wait before the same call may succeed (a 429's Retry-After), or None."""
        if err.response.status_code != 429:
            return None
        try:
            wait = float(err.response.headers.get("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        self._quiet = (deadline, time.monotonic() + wait)
        return wait


class _Stop(Exception):
    def __init__(self, sent: Sent) -> None:
        super().__init__(sent.answer)
        self.sent = sent


def _outcome(err: SlackApiError) -> Sent:
    status = err.response.status_code
    code = str(err.response.get("error") or f"HTTP {status}") if isinstance(err.response.data, dict) else f"HTTP {status}"
    if status == 429 or status >= 500 or code in TRY_AGAIN:
        return Sent("failed", code)
    return Sent("rejected", code)
