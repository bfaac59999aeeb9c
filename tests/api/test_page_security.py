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
