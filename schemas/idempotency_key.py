"""The Idempotency-Key header: which keys are taken, and the event ids a client's key names."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

NAMESPACE = uuid.UUID("eea7266d-7693-4501-a195-da2c1075d646")
"""o11y's namespace of the ids a key names (uuid5). Fixed for good: stored event ids derive from it, and a gateway may
derive them too."""
MAX_LENGTH = 255
RULE = f"An Idempotency-Key is 1 to {MAX_LENGTH} printable ASCII characters (space to '~', no control characters)"

_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
"""The draft's form of the header (an RFC 8941 string): the key in double quotes, `"` and `\\` escaped by `\\`."""
_ESCAPE = re.compile(r'\\(["\\])')


def key_text(header: str) -> str:
    """The key a header's value carries: the value as sent (Stripe's form), or the text inside the draft's quotes.

    ValueError naming the rule for a key that breaks it. Spaces and tabs around the value are not part of it (HTTP).
    """
    value = header.strip(" \t")
    quoted = _QUOTED.fullmatch(value)
    key = _ESCAPE.sub(r"\1", quoted.group(1)) if quoted else value
    if not key:
        raise ValueError(f"{RULE}; this one is empty")
    if len(key) > MAX_LENGTH:
        raise ValueError(f"{RULE}; this one has {len(key)} characters")
    if not _PRINTABLE.fullmatch(key):
        at, char = next((at, char) for at, char in enumerate(key) if not " " <= char <= "~")
        raise ValueError(f"{RULE}; this one has U+{ord(char):04X} at position {at}")
    return key


def _as_uuid(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key)
    except ValueError:
        return None


def event_id_for_key(client: str, key: str) -> str:
    """The id of the one event `client` sends with `key`.

    A key that is a UUID (in any form Python's `uuid.UUID` reads) is that id, in canonical form, as it always was. Any
    other key names uuid5(NAMESPACE, client + "\\n" + key): the same key from two clients names two events, and no
    key holds a line feed, so no two (client, key) pairs share a name.
    """
    as_uuid = _as_uuid(key)
    return str(as_uuid) if as_uuid is not None else str(uuid.uuid5(NAMESPACE, f"{client}\n{key}"))


def item_ids_for_key(client: str, key: str, indexes: Iterable[int]) -> list[str]:
    """The ids of a batch's items that `client` sends with `key`, by their index in the array: uuid5(NAMESPACE,
    client + "\\n" + key + "\\n" + index), a UUID key in its canonical form: never the id of one of the same
    client's single events, whose name holds one line feed less."""
    as_uuid = _as_uuid(key)
    name = f"{client}\n{key if as_uuid is None else as_uuid}\n"
    return [str(uuid.uuid5(NAMESPACE, f"{name}{index}")) for index in indexes]
