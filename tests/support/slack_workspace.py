"""The messages of a stand-in Slack workspace, and what chat.postMessage, chat.update and conversations.history do to them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from support.slack_api_rules import (
    POST_TEXT_MAX,
    UPDATE_TEXT_MAX,
    Refused,
    blocks_of,
    flag,
    history_limit,
    metadata_of,
    require_content,
    text_of,
    ts_bound,
)

BOT_USER, BOT_ID, APP_ID = "U0O11YBOT1", "B0O11YBOT1", "A0O11YAPP1"


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    member: bool = True
    """Whether the bot is in the channel (if not, its calls there answer not_in_channel)."""


CHANNELS = (Channel("C0ALERTS01", "o11y-alerts"), Channel("C0TICKET01", "o11y-tickets"),
            Channel("C0OUTSIDE1", "elsewhere", member=False))


class SlackWorkspace:
    """Not thread-safe: the server calls it under its own lock. Answers are the `ok: true` bodies less `ok`."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = {channel.id: channel for channel in channels}
        self.messages: dict[str, dict[str, dict[str, Any]]] = {channel.id: {} for channel in channels}
        """Every shown message (top-level and replies) by channel, then ts, in the order posted."""
        self.strays: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[tuple[str, str, dict[str, Any]]] = []
        self._last_ts = 0

    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=True)
        blocks, metadata = blocks_of(args), metadata_of(args)
        require_content(args, blocks)
        message = self._new_message((text_of(args) or "")[:POST_TEXT_MAX], blocks, metadata)
        if "thread_ts" in args:
            parent = self._parent_ts(channel.id, args["thread_ts"])
            if parent is None:
                # Slack answers ok and the reply shows nowhere (python-slack-sdk#840: a float thread_ts; any unknown ts)
                self.strays.append((channel.id, message))
                return {"channel": channel.id, "ts": message["ts"], "message": message}
            message["thread_ts"] = parent
        self.messages[channel.id][message["ts"]] = message
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    def _parent_ts(self, channel_id: str, thread_ts: Any) -> str | None:
        """The top-level message a reply goes under: a reply's own ts threads under its parent, as Slack flattens it."""
        found = self.messages[channel_id].get(thread_ts) if isinstance(thread_ts, str) else None
        return None if found is None else str(found.get("thread_ts", thread_ts))

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=False)
        ts = args.get("ts")
        message = self.messages[channel.id].get(ts) if isinstance(ts, str) else None
        if message is None:
            raise Refused("message_not_found")
        blocks, metadata, text = blocks_of(args), metadata_of(args), text_of(args)
        require_content(args, blocks)
        if text is not None and len(text) > UPDATE_TEXT_MAX:
            raise Refused("msg_too_long")
        message["text"] = text or ""
        if blocks:
            message["blocks"] = blocks
        elif blocks is not None or text is not None:
            message.pop("blocks", None)  # text without blocks removes them (Slack's chat.update docs)
        if metadata:
            message["metadata"] = metadata
        elif metadata is not None:
            message.pop("metadata", None)  # {} clears it; no metadata argument keeps it
        message["edited"] = {"user": BOT_USER, "ts": self._next_ts()}
        self.updates.append((channel.id, str(ts), args))
        return {"channel": channel.id, "ts": ts, "text": message["text"], "message": message}

    def history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=False)
        oldest = ts_bound(args.get("oldest"), Decimal(0), "invalid_ts_oldest")
        latest = ts_bound(args.get("latest"), Decimal("Infinity"), "invalid_ts_latest")
        inclusive, limit = flag(args.get("inclusive")), history_limit(args.get("limit"))
        shown = [self._as_listed(channel.id, message, flag(args.get("include_all_metadata")))
                 for message in reversed(self.messages[channel.id].values())
                 if "thread_ts" not in message and _within(Decimal(message["ts"]), oldest, latest, inclusive)]
        return {"messages": shown[:limit], "has_more": len(shown) > limit, "pin_count": 0}

    def _as_listed(self, channel_id: str, message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
        """A top-level message as conversations.history lists it: its thread's counts, metadata only when asked."""
        listed = {key: value for key, value in message.items() if with_metadata or key != "metadata"}
        replies = [reply["ts"] for reply in self.messages[channel_id].values() if reply.get("thread_ts") == message["ts"]]
        if replies:
            listed.update(thread_ts=message["ts"], reply_count=len(replies), latest_reply=replies[-1])
        return listed

    def _channel(self, value: Any, by_name: bool) -> Channel:
        """The channel a call names: its ID, or for chat.postMessage also its #name; channel_not_found, not_in_channel."""
        names = {f"#{channel.name}": channel for channel in self._channels.values()} if by_name else {}
        channel = (self._channels.get(value) or names.get(value)) if isinstance(value, str) else None
        if channel is None:
            raise Refused("channel_not_found")
        if not channel.member:
            raise Refused("not_in_channel")
        return channel

    def _new_message(self, text: str, blocks: list[dict[str, Any]] | None, metadata: dict[str, Any] | None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID, "text": text,
                                   "ts": self._next_ts()}
        message.update({"blocks": blocks} if blocks else {})
        message.update({"metadata": metadata} if metadata else {})
        return message

    def _next_ts(self) -> str:
        """Slack's message ids: "seconds.micros" as a string, unique and increasing."""
        self._last_ts = max(time.time_ns() // 1000, self._last_ts + 1)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"


def _within(ts: Decimal, oldest: Decimal, latest: Decimal, inclusive: bool) -> bool:
    return oldest <= ts <= latest if inclusive else oldest < ts < latest
