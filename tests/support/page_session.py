"""Signing in to the pages over plain HTTP (no browser), with cookies passed by hand so that a test says which it sends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SESSION, LOGIN = "o11y_session", "o11y_login"


@dataclass(frozen=True)
class LoginForm:
    cookie: str
    """The pre-session cookie the sign-in page set."""
    csrf: str
    """The form's hidden CSRF token."""
    set_cookie: str
    """The sign-in page's Set-Cookie header, as sent."""


async def login_form(client: Any, headers: dict[str, str] | None = None) -> LoginForm:
    page = await client.get("/ui/login", headers=headers or {})
    assert page.status == 200, await page.text()
    client.session.cookie_jar.clear()
    found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found, "the sign-in form carries a CSRF token"
    return LoginForm(page.cookies[LOGIN].value, found.group(1), page.headers.get("Set-Cookie", ""))


async def post_login(client: Any, token: str, form: LoginForm | None, headers: dict[str, str] | None = None) -> Any:
    cookie = {"Cookie": f"{LOGIN}={form.cookie}"} if form else {}
    answer = await client.post("/ui/login", data={"token": token, "csrf": form.csrf if form else "", "next": "/ui/"},
                               headers={**cookie, **(headers or {})}, allow_redirects=False)
    client.session.cookie_jar.clear()
    return answer


async def sign_in(client: Any, token: str, headers: dict[str, str] | None = None) -> str:
    """The session cookie a sign-in with `token` gets."""
    answer = await post_login(client, token, await login_form(client, headers), headers)
    assert answer.status == 303, await answer.text()
    return str(answer.cookies[SESSION].value)


def with_session(cookie: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION}={cookie}"}
