"""Every event type o11y carries, by name: what the ingest endpoints, the topics, the loaders and the tables are made
for. A new type is one schema module and one line here (and its table in `storage/`, its topic in the settings)."""

from __future__ import annotations

from schemas.event_kinds import Kind
from schemas.event_message import REQUESTS
from schemas.session_event import SESSIONS

EVENT_TYPES: dict[str, Kind] = {kind.name: kind for kind in (REQUESTS, SESSIONS)}
