"""What Slack's Web API refuses in a call's arguments, as plain checks naming Slack's own `ok: false` codes."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_BLOCKS = 50
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
POST_TEXT_MAX = 40_000
"""chat.postMessage cuts longer text (its docs: "or risk truncation"); it does not refuse it."""
UPDATE_TEXT_MAX = 4_000
"""chat.update refuses longer text with msg_too_long (its error list)."""
HISTORY_LIMIT_MAX = 999


class Refused(Exception):
    """An HTTP-200 `{"ok": false, "error": <code>}` answer, with Slack's `response_metadata.messages` when it gives any."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            answer["response_metadata"] = {"messages": self.messages}
        return answer


def flag(value: Any) -> bool:
    """Slack's booleans: JSON true, or "true"/"1" in a form or query (slack_sdk sends "1"/"0")."""
    return value is True or value in ("true", "1", 1)


def _decoded(value: Any, error: str) -> Any:
    """A JSON argument: an object in a JSON body, a JSON string in a form body."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as err:
        raise Refused(error) from err


def text_of(args: dict[str, Any]) -> str | None:
    value = args.get("text", args.get("markdown_text"))
    return None if value is None else str(value)


def require_content(args: dict[str, Any], blocks: list[dict[str, Any]] | None) -> None:
    """no_text unless the call carries something to show; markdown_text excludes text and blocks."""
    if args.get("markdown_text") is not None and (args.get("text") is not None or blocks is not None):
        raise Refused("markdown_text_conflict")
    if not (text_of(args) or blocks or args.get("attachments")):
        raise Refused("no_text")


def blocks_of(args: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The call's blocks (None when it names none); invalid_blocks_format or invalid_blocks as Slack answers them."""
    if args.get("blocks") is None:
        return None
    blocks = _decoded(args["blocks"], "invalid_blocks_format")
    if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks):
        raise Refused("invalid_blocks_format")
    problems = [f"[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"] if len(blocks) > MAX_BLOCKS else []
    problems += [f"[ERROR] {problem} [json-pointer:/blocks/{i}{where}]"
                 for i, block in enumerate(blocks) for problem, where in _block_problems(block)]
    if problems:
        raise Refused("invalid_blocks", problems)
    return blocks


def _block_problems(block: dict[str, Any]) -> list[tuple[str, str]]:
    kind = block.get("type")
    if not isinstance(kind, str) or not kind:
        return [("missing required field: type", "")]
    if kind == "header":
        return _text_problems(block.get("text"), HEADER_TEXT_MAX, "/text", plain_only=True)
    if kind == "section":
        fields = block.get("fields")
        if block.get("text") is None and not fields:
            return [("must provide either text or fields", "")]
        problems = [] if block.get("text") is None else _text_problems(block["text"], SECTION_TEXT_MAX, "/text")
        if fields is not None and (not isinstance(fields, list) or len(fields) > SECTION_FIELDS_MAX):
            return [*problems, (f"must be a list of at most {SECTION_FIELDS_MAX} items", "/fields")]
        return problems + [problem for i, field in enumerate(fields or [])
                           for problem in _text_problems(field, FIELD_TEXT_MAX, f"/fields/{i}")]
    return []


def _text_problems(text: Any, limit: int, where: str, plain_only: bool = False) -> list[tuple[str, str]]:
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(text, dict) or text.get("type") not in kinds or not isinstance(text.get("text"), str):
        return [(f"must be a text object of type {' or '.join(kinds)}", where)]
    if len(text["text"]) > limit:
        return [(f"must be less than {limit + 1} characters", f"{where}/text")]
    return []


def metadata_of(args: dict[str, Any]) -> dict[str, Any] | None:
    """The message metadata ({event_type, event_payload}); {} (chat.update's way of clearing it) passes as {}."""
    if args.get("metadata") is None:
        return None
    metadata = _decoded(args["metadata"], "invalid_metadata_format")
    if metadata == {}:
        return {}
    if (not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str) or not metadata["event_type"]
            or not isinstance(metadata.get("event_payload"), dict)):
        raise Refused("invalid_metadata_format")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def ts_bound(value: Any, default: Decimal, error: str) -> Decimal:
    """conversations.history's oldest/latest: a Unix time with up to 6 decimals, compared exactly (a float is not)."""
    if value is None or value == "":
        return default
    try:
        bound = Decimal(str(value))
    except InvalidOperation as err:
        raise Refused(error) from err
    if not bound.is_finite() or bound < 0:
        raise Refused(error)
    return bound


def history_limit(value: Any) -> int:
    """At most 999 (Slack gives fewer than asked rather than refusing); 100 when not given."""
    if value is None or value == "":
        return 100
    try:
        return max(1, min(int(value), HISTORY_LIMIT_MAX))
    except (TypeError, ValueError) as err:
        raise Refused("invalid_arguments") from err
