"""From notices to Slack messages: one each, or one per provider (or client) when many arrive in a minute (pure)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from alerting.delivery.slack_messages import Body, alert_message, group_message, resolve_message
from alerting.incidents.incidents import Notice
from alerting.rules.decisions import Trip


@dataclass(frozen=True)
class Outbound:
    """One Slack message and the incidents it speaks for."""

    severity: str
    notices: tuple[Notice, ...]
    body: Body


def also_failing(trips: list[Trip]) -> Callable[[Notice], tuple[str, ...]]:
    """Other models of the same provider that trip in this minute, for "also failing on …"."""
    models: dict[str, set[str]] = {}
    for trip in trips:
        provider, model, _ = trip.reading.dimension
        models.setdefault(provider, set()).add(model)

    def others(notice: Notice) -> tuple[str, ...]:
        _, _, provider, model, _ = notice.incident.key
        return tuple(sorted(models.get(provider, set()) - {model}))

    return others


def _pick(notices: list[Notice], by: Callable[[Notice], Hashable], above: int) -> tuple[list[list[Notice]], list[Notice]]:
    groups: dict[Hashable, list[Notice]] = {}
    for notice in notices:
        groups.setdefault(by(notice), []).append(notice)
    big = [group for group in groups.values() if len(group) > above]
    taken = {id(n) for group in big for n in group}
    return big, [n for n in notices if id(n) not in taken]


def plan(notices: list[Notice], group_above: int, also: Callable[[Notice], tuple[str, ...]],
         public_url: str | None = None) -> list[Outbound]:
    """Group per severity and direction (opening or resolving): by provider first, then by client. With `public_url`,
    each message links to the pages."""
    out: list[Outbound] = []
    for severity in ("page", "ticket"):
        for resolving in (False, True):
            batch = [n for n in notices if n.incident.severity == severity and (n.kind == "resolved") == resolving]
            by_provider, rest = _pick(batch, lambda n: n.incident.key[2], group_above)
            by_client, single = _pick(rest, lambda n: n.incident.key[4], group_above)
            for group in by_provider:
                out.append(Outbound(severity, tuple(group),
                                    group_message(severity, group, f"on {group[0].incident.key[2]}", public_url)))
            for group in by_client:
                out.append(Outbound(severity, tuple(group),
                                    group_message(severity, group, f"for {group[0].incident.key[4]}", public_url)))
            for notice in single:
                body = resolve_message(notice, public_url) if resolving else alert_message(notice, also(notice), public_url)
                out.append(Outbound(severity, (notice,), body))
    return out
