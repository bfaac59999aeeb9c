"""The sessions page (`/ui/sessions`) against sessions inserted into the real raw table: its charts, tables and filters
over HTTP and in a real headless chromium, and hostile names from events shown as text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.browser import Console, chromium, numbers, screenshot
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.layout import layout_problems
from support.live_server import LiveServer
from support.page_session import sign_in, with_session
from support.session_history import Session, SessionHistory, standard

SETTINGS = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                    client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
HOSTILE = '<script>alert("x")</script>'
BUCKETS_24H = 96
"""A point every 15 minutes of the 24 hours, zeros included."""


@pytest.fixture
def history(clickhouse: Any) -> SessionHistory:
    history = standard(clickhouse)
    history.add(Session(130, HOSTILE, "m-a", "completed", {f'"><img src=x onerror=alert(1)>{HOSTILE}': 2}, {}, 500,
                        1000, 0.0))
    return history


@pytest.fixture
async def page(aiohttp_client: Any, clickhouse: Any, history: SessionHistory) -> AsyncIterator[Any]:
    now = history.base + timedelta(minutes=150, seconds=30)
    client = await aiohttp_client(create_api_app(SETTINGS, default_policy(), clickhouse, CollectorRegistry(), now=lambda: now))
    cookie = with_session(await sign_in(client, READ_TOKEN))

    async def get(query: dict[str, str], status: int = 200) -> str:
        answer = await client.get(f"/ui/sessions?{urlencode(query)}", headers=cookie, allow_redirects=False)
        assert answer.status == status, await answer.text()
        return str(await answer.text())

    yield get


async def test_the_page_shows_reasons_over_time_tool_errors_and_stuck_calls(page: Any, history: SessionHistory) -> None:
    html = await page({"client": history.client})
    for reason in ("completed", "error", "interrupted", "abandoned", "unknown"):
        assert f'data-series="{reason}" data-points="{BUCKETS_24H}"' in html, reason
    assert f'data-series="stuck tool calls" data-points="{BUCKETS_24H}"' in html
    assert '<tr data-tool="execute_command"><td class="wrap">execute_command</td><td class="num" data-calls="5">5</td>' \
           '<td class="num" data-errors="4">4</td><td class="num">80.0 %</td>' in html, "most errors first"
    assert html.index('data-tool="execute_command"') < html.index('data-tool="read_file"')
    assert 'data-platform="cli" data-model="m-b"' in html and 'data-stuck="2"' in html
    assert '<b data-total="sessions">8</b>' in html and '<b data-total="stuck tool calls">3</b>' in html
    assert f'<input name="client" value="{history.client}"' in html
    assert '<a href="/ui/sessions" class="here">Sessions</a>' in html


async def test_the_filters_alert_messages_link_with(page: Any, history: SessionHistory) -> None:
    route = await page({"platform": "cli", "model": "m-b", "client": history.client})
    assert '<b data-total="sessions">1</b>' in route and 'data-platform="vscode"' not in route
    tool = await page({"tool": "execute_command", "platform": "vscode", "client": history.client})
    assert '<b data-total="sessions">1</b>' in tool and 'data-tool="read_file"' not in tool
    assert 'data-calls="2"' in tool and 'data-errors="1"' in tool
    assert '<input name="tool" value="execute_command"' in tool


async def test_names_from_events_are_text_and_bad_questions_get_400(page: Any, history: SessionHistory) -> None:
    html = await page({"client": history.client})
    assert HOSTILE not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    asked = await page({"client": history.client, "platform": HOSTILE})
    assert HOSTILE not in asked and '<b data-total="sessions">1</b>' in asked, "the hostile platform, as asked"
    for query in ({"range": "1y"}, {"model": "m" * 300}):
        assert "Not a sessions question" in await page(query, 400)


@pytest.mark.component
async def test_the_page_in_chromium_draws_every_bucket_and_fits_phone_and_desktop(clickhouse: Any,
                                                                                   history: SessionHistory) -> None:
    now = history.base + timedelta(minutes=150, seconds=30)
    with LiveServer(lambda: create_api_app(SETTINGS, default_policy(), clickhouse, CollectorRegistry(),
                                           now=lambda: now)) as server:
        async with chromium() as browser:
            for width, device in ((390, "phone"), (1280, "desktop")):
                tab = await browser.new_page(viewport={"width": width, "height": 900})
                console = Console(tab)
                await tab.goto(f"{server.url}/ui/sessions?client={history.client}")
                await tab.fill("input[name=token]", READ_TOKEN)
                await tab.click("button[type=submit]")
                await tab.wait_for_url("**/ui/sessions?**")
                drawn = dict(zip(await numbers(tab, "path.line", "data-series"),
                                 await numbers(tab, "path.line", "data-points"), strict=True))
                assert drawn["error"] == drawn["tool errors"] == str(BUCKETS_24H), drawn
                assert await tab.locator("#tools tbody tr").count() == 3
                assert await layout_problems(tab) == []
                await screenshot(tab, f"sessions-{device}")
                assert not console, console.errors
