"""What the pages' sign-in and every answer of `o11y api` promise a browser: headers, cookies, CSRF, sign-out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.page_session import SESSION, LoginForm, login_form, post_login, with_session

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
