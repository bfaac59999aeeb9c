"""What the pages' sign-in and every answer of `o11y api` promise a browser: headers, cookies, CSRF, sign-out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from api.session_revocations import FRESH_FOR
from api.sessions import Sessions
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.held_clickhouse import HeldCalls
from support.page_session import SESSION, LoginForm, login_form, post_login, sign_in, with_session

READER = {"Authorization": f"Bearer {READ_TOKEN}"}
SETTINGS = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                    client_secrets={"kilo-gateway": [SecretStr(SECRET)]})


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any) -> AsyncIterator[Any]:
    yield await aiohttp_client(create_api_app(SETTINGS, default_policy(), clickhouse, CollectorRegistry()))


async def test_every_answer_tells_the_browser_not_to_guess_its_type(api: Any) -> None:
    answers = {
        "a page": await api.get("/ui/login"),
        "a redirect to sign in": await api.get("/ui/", allow_redirects=False),
        "JSON": await api.get("/v1/silences", headers=READER),
        "a refused token": await api.get("/v1/silences"),
        "a refused question": await api.get("/v1/incidents?limit=0", headers=READER),
        "no such path": await api.get("/nowhere"),
        "the API's description": await api.get("/openapi.json"),
        "metrics": await api.get("/metrics"),
        "health": await api.get("/healthz"),
        "a page's CSV": await api.get("/ui/usage?format=csv", allow_redirects=False),
    }
    assert {what: a.headers.get("X-Content-Type-Options") for what, a in answers.items()} == {
        what: "nosniff" for what in answers}
    assert [a.status for a in answers.values()] == [200, 302, 200, 401, 400, 404, 200, 200, 200, 302]


async def test_a_sign_in_form_from_elsewhere_gets_403_and_no_session(api: Any) -> None:
    form = await login_form(api)
    assert "HttpOnly" in form.set_cookie and "SameSite=Strict" in form.set_cookie
    other = await login_form(api)
    forged = {
        "no form token, no cookie": await post_login(api, READ_TOKEN, None),
        "another browser's form": await post_login(api, READ_TOKEN, LoginForm(form.cookie, other.csrf, "")),
        "a made-up token": await post_login(api, READ_TOKEN, LoginForm(form.cookie, "forged", "")),
    }
    assert {what: (a.status, SESSION in a.cookies) for what, a in forged.items()} == {
        what: (403, False) for what in forged}
    assert "reload" in await forged["a made-up token"].text()
    wrong = await post_login(api, "not-a-token", form)
    assert wrong.status == 401 and f'value="{form.csrf}"' in await wrong.text(), "a wrong token may be retried"
    signed_in = await post_login(api, READ_TOKEN, form)
    assert signed_in.status == 303 and SESSION in signed_in.cookies
    page = await api.get("/ui/incidents", headers=with_session(signed_in.cookies[SESSION].value), allow_redirects=False)
    assert page.status == 200


@pytest.mark.parametrize("proxy", [{}, {"X-Forwarded-Proto": "https"}, {"Forwarded": "for=10.0.0.1;proto=https"}],
                         ids=["plain HTTP", "X-Forwarded-Proto", "Forwarded"])
async def test_cookies_are_secure_when_the_browser_came_over_https(api: Any, proxy: dict[str, str]) -> None:
    form = await login_form(api, proxy)
    signed_in = await post_login(api, READ_TOKEN, form, proxy)
    assert signed_in.status == 303
    [session] = [h for h in signed_in.headers.getall("Set-Cookie") if h.startswith(f"{SESSION}=")]
    flags = {"sign-in form": form.set_cookie, "session": session}
    assert {what: "secure" in [part.strip().lower() for part in header.split(";")] for what, header in flags.items()} == {
        what: bool(proxy) for what in flags}


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.at


async def test_a_signed_out_session_is_refused_by_every_api_process(aiohttp_client: Any, clickhouse: Any) -> None:
    clock = Clock()
    first, second = [await aiohttp_client(create_api_app(SETTINGS, default_policy(), clickhouse, CollectorRegistry(),
                                                         now=clock)) for _ in range(2)]
    cookie = await sign_in(first, ADMIN_TOKEN)
    copy = with_session(cookie)  # a copy of the cookie, as someone who took it would send it

    async def let_in(process: Any) -> tuple[bool, bool]:
        page = await process.get("/ui/incidents", headers=copy, allow_redirects=False)
        api = await process.get("/v1/silences", headers=copy)
        return page.status == 200, api.status == 200

    assert [await let_in(p) for p in (first, second)] == [(True, True), (True, True)]
    out = await first.post("/ui/logout", headers=copy, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/ui/login"
    assert await let_in(first) == (False, False), "the process that signed out refuses the cookie at once"
    clock.at += FRESH_FOR
    assert await let_in(second) == (False, False), "another process refuses it once its list is FRESH_FOR old"

    session = Sessions(SETTINGS).read(cookie, clock.at)
    assert session is not None
    rows = clickhouse.query("SELECT revoked_by, expires_at FROM o11y.revoked_sessions WHERE session_id = {id:String}",
                            parameters={"id": session.session_id}).result_rows
    assert [(by, expires.replace(tzinfo=timezone.utc)) for by, expires in rows] == [("alice", session.expires_at)]
    assert "TTL expires_at" in clickhouse.command("SHOW CREATE TABLE o11y.revoked_sessions")


async def test_without_the_list_of_sign_outs_a_session_gets_503_and_a_sign_out_keeps_its_cookie(
        aiohttp_client: Any, clickhouse: Any) -> None:
    cookie = await sign_in(await aiohttp_client(create_api_app(SETTINGS, default_policy(), clickhouse, CollectorRegistry())),
                           ADMIN_TOKEN)
    down = HeldCalls(clickhouse, lambda _, what: "revoked_sessions" in what, refuse=True)
    api = await aiohttp_client(create_api_app(SETTINGS, default_policy(), down, CollectorRegistry()))
    refused = [await api.get(path, headers=with_session(cookie), allow_redirects=False)
               for path in ("/ui/incidents", "/v1/silences")]
    assert [a.status for a in refused] == [503, 503] and "retry" in await refused[0].text()
    assert (await api.get("/v1/silences", headers=READER)).status == 200, "a token does not need the list"
    assert (await api.get("/ui/login", headers=with_session(cookie))).status == 200
    out = await api.post("/ui/logout", headers=with_session(cookie), allow_redirects=False)
    assert out.status == 503 and "retry" in await out.text() and SESSION not in out.cookies, "the cookie stays: retry"
