"""Where the pages link to each other (pure): one place builds each page's address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode


@dataclass(frozen=True)
class Tab:
    """One of a page's tabs: the same page asked another way (`here`: the way shown)."""

    label: str
    link: str
    here: bool


def route(provider: str, model: str, client: str, **more: str) -> str:
    """A route's page, with more of its parameters (`range`) when given."""
    return "/ui/route?" + urlencode({"provider": provider, "model": model, "client": client, **more})


def usage(**parameters: str) -> str:
    return "/ui/usage?" + urlencode(parameters)


def sessions(**parameters: str) -> str:
    return "/ui/sessions?" + urlencode(parameters)


def usage_export(start: datetime, end: datetime) -> str:
    """Every event of [start, end) as CSV, from the read API (a session may read it)."""
    return "/v1/usage/export?" + urlencode({"from": start.isoformat(), "to": end.isoformat(), "format": "csv"})


def incidents(**parameters: str) -> str:
    return "/ui/incidents?" + urlencode(parameters)


def incident(incident_id: str) -> str:
    """The incident's row on the incidents page."""
    return f"/ui/incidents#incident-{incident_id}"
