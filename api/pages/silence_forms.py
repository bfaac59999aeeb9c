"""The incidents page's silence forms (`POST /ui/silences`, `…/{id}/expire`): an admin's session, with the form's CSRF
token, silences an incident's route for a few hours or ends a silence now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from aiohttp import web
from pydantic import ValidationError

from alerting.incidents.silences import Silence, SilenceRequest
from api.auth import Caller
from api.pages import data, links
from api.pages.context import PageContext
from api.pages.guard import Refused, admin_form
from api.responses import reasons

SILENCE_HOURS = (1, 4, 24)
"""How long a silence made on the page may last: the form's choices."""
MATCHERS = ("slo", "severity", "provider", "model", "client")


def silence_from_form(form: Mapping[str, str], by: str, now: datetime) -> Silence:
    """The silence a form asks for, from now for one of SILENCE_HOURS; Refused with every reason otherwise."""
    try:
        hours = int(form.get("hours", ""))
        if hours not in SILENCE_HOURS:
            raise ValueError("hours: one of " + ", ".join(map(str, SILENCE_HOURS)))
        wanted = SilenceRequest.model_validate({**{k: form[k] for k in MATCHERS if form.get(k)},
                                                "ends_at": now + timedelta(hours=hours), "comment": form.get("comment", "")})
        return wanted.silence(by, now)
    except ValidationError as err:
        raise Refused("Silence refused", reasons(err)) from None
    except ValueError as err:
        raise Refused("Silence refused", [str(err)]) from None


def added(silence: Silence) -> str:
    """What the incidents page says once a silence is made."""
    return f"silence {silence.id} holds until {silence.ends_at:%H:%M} UTC"


def expirable(silence: Silence | None, silence_id: str, now: datetime) -> Silence:
    """The silence to end now; Refused (404) when there is none or it has ended."""
    if silence is None or silence.state(now) in ("expired", "ended"):
        raise Refused("No such silence", [f"silence {silence_id} does not exist or has already ended"], 404)
    return silence


class SilenceForms:
    def __init__(self, context: PageContext) -> None:
        self._context = context

    async def add(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        form = await admin_form(request, caller, self._context.sessions)
        now = self._context.now()
        silence = silence_from_form(form, caller.name, now)
        await self._context.read(data.save_silence, silence, now)
        raise web.HTTPSeeOther(links.incidents(notice=added(silence)))

    async def expire(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        await admin_form(request, caller, self._context.sessions)
        silence_id, now = request.match_info["silence_id"][:64], self._context.now()
        silence = expirable(await self._context.read(data.silence, silence_id), silence_id, now)
        await self._context.read(data.save_silence, silence.expired(caller.name, now), now)
        raise web.HTTPSeeOther(links.incidents(notice=f"silence {silence_id} expired"))
