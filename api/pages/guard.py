"""What every page handler gets once: the sign-in guard, error pages for refused questions and failed reads, the admin
form's checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from api.auth import SIGNED_IN, Caller
from api.pages.render import Renderer
from api.responses import reasons
from api.sessions import COOKIE, Sessions

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Page = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """A question or form a page will not take: answered with an error page of `status` listing `problems`."""

    def __init__(self, title: str, problems: Sequence[str], status: int = 400) -> None:
        super().__init__(title)
        self.title, self.problems, self.status = title, list(problems), status


def signed_in(page: Page, render: Renderer) -> Handler:
    """`page` for a signed-in caller; anyone else is sent to sign in and back. A refused or invalid question gets a 400
    page, a failed read a 503 page: never a 500 for what a client sent."""

    async def handler(request: web.Request) -> web.StreamResponse:
        caller = request.get(SIGNED_IN)
        if caller is None:
            raise web.HTTPFound("/ui/login?" + urlencode({"next": request.path_qs}))
        try:
            return await page(request, caller)
        except web.HTTPException:
            raise
        except Refused as err:
            return render.error(request, caller, err.status, err.title, err.problems)
        except ValidationError as err:
            return render.error(request, caller, 400, "Not a valid question", reasons(err))
        except Exception as err:  # noqa: BLE001 - the question was valid: what failed is ClickHouse
            first_line = (str(err).splitlines() or [type(err).__name__])[0][:500]
            log.warning("page %s: ClickHouse could not answer: %s", request.path, first_line)
            return render.error(request, caller, 503, "ClickHouse could not answer", [f"{type(err).__name__}: retry in a moment"])

    return handler


async def admin_form(request: web.Request, caller: Caller, sessions: Sessions) -> dict[str, str]:
    """The posted form (each field's first value, as text), when an admin's session sent it from a page of this site
    (its CSRF token); else 403."""
    form = await request.post()
    if caller.role != "admin":
        raise web.HTTPForbidden(text="Only an admin's session may change silences: sign in with an O11Y_ADMIN_TOKENS token.")
    if not sessions.csrf_ok(request.cookies.get(COOKIE), str(form.get("csrf", ""))):
        raise web.HTTPForbidden(text="This form is stale or did not come from this site: reload the page and retry.")
    return {key: str(form[key]) for key in form}
