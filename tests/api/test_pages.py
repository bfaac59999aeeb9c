"""The pages in a real headless chromium, against a chDB with a known history: two clients, an incident, a silence."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.alerting_harness import make_evaluator
from support.browser import Console, chromium, numbers, screenshot
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.layout import layout_problems
from support.live_server import LiveServer
from support.timeline import Timeline

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own

NOW_MINUTE = 50
WIDTHS = {"desktop": 1280, "phone": 390}
LAYOUT_WIDTHS = (390, 1280, 1400)


@dataclass(frozen=True)
class History:
    url: str
    timeline: Timeline
    model: str
    clients: tuple[str, str]
    incident_id: str
    silence_id: str


@pytest.fixture
def history(clickhouse: Any, redis_client: Any, slack: Any) -> Iterator[History]:
    """Model M on two clients for 50 minutes; client A fails 30 % of requests from minute 35 (a page opens and stays
    open); a silence, made through the API, covers client B."""
    tag = uuid.uuid4().hex[:6]
    model, clients = f"anthropic/claude-sonnet-4-5-{tag}", (f"alpha-{tag}", f"beta-{tag}")  # names as long as real ones
    timeline = Timeline(clickhouse)
    streamed = {"complete_ms": 900, "output_tokens": 101}  # first byte at 50 ms, then 8.5 ms per output token
    for client in clients:
        timeline.traffic(0, 35, 40, model=model, client=client, **streamed)
    timeline.traffic(35, NOW_MINUTE, 40, 0.3, model=model, client=clients[0], **streamed)
    timeline.traffic(35, NOW_MINUTE, 40, model=model, client=clients[1], **streamed)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    for minute in range(36, NOW_MINUTE + 1):
        evaluator.evaluate_tick(timeline.at(minute))
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                        client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
    now = timeline.at(NOW_MINUTE, 30)
    with LiveServer(lambda: create_api_app(settings, default_policy(), clickhouse, CollectorRegistry(),
                                           now=lambda: now)) as server:
        import asyncio

        async def prepare() -> tuple[str, str]:
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            async with aiohttp.ClientSession(server.url, headers=admin) as session:
                async with session.get(f"/v1/incidents?model={model}") as answer:
                    incidents = (await answer.json())["incidents"]
                async with session.post("/v1/silences", json={
                        "client": clients[1], "ends_at": (now + timedelta(hours=2)).isoformat(),
                        "comment": "maintenance of beta"}) as answer:
                    silence = (await answer.json())["silence"]
            [incident] = incidents
            return incident["id"], silence["id"]

        incident_id, silence_id = asyncio.run(prepare())
        yield History(server.url, timeline, model, clients, incident_id, silence_id)


async def sign_in(browser: Browser, url: str, token: str, width: int = 1280) -> tuple[Page, Console]:
    page = await browser.new_page(viewport={"width": width, "height": 900})
    console = Console(page)
    await page.goto(f"{url}/ui/")
    assert page.url.startswith(f"{url}/ui/login"), "a page without a session sends to the sign-in page"
    await page.fill("input[name=token]", token)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/ui/")
    return page, console


async def api(url: str, path: str) -> Any:
    async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {READ_TOKEN}"}) as session:
        async with session.get(path) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def drawn_points(page: Page) -> dict[str, int]:
    """Series name → points drawn, of the first chart that has the series."""
    found: dict[str, int] = {}
    for name, points in zip(await numbers(page, "path.line", "data-series"), await numbers(page, "path.line", "data-points"),
                            strict=True):
        found.setdefault(name, int(points))
    return found


async def test_sign_in_is_required_and_refuses_other_tokens(history: History) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        console = Console(page)
        await page.goto(f"{history.url}/ui/incidents")
        assert "/ui/login" in page.url
        for wrong in ("not-a-token", SECRET):  # an ingest secret is not a way in either
            await page.fill("input[name=token]", wrong)
            await page.click("button[type=submit]")
            assert "not an O11Y_API_TOKENS" in await page.inner_text("[role=alert]")
        await page.fill("input[name=token]", READ_TOKEN)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{history.url}/ui/incidents")  # back where it was going
        cookie = next(c for c in await page.context.cookies() if c["name"] == "o11y_session")
        assert READ_TOKEN not in cookie["value"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        await page.click("text=Sign out")
        await page.goto(f"{history.url}/ui/")
        assert "/ui/login" in page.url
        assert all("401" in error for error in console.errors), console.errors  # the two refused tokens only


@pytest.mark.parametrize("device", sorted(WIDTHS))
async def test_every_page_renders_and_agrees_with_the_api(history: History, device: str) -> None:
    width, alpha, beta = WIDTHS[device], *history.clients
    async with chromium() as browser:
        page, console = await sign_in(browser, history.url, READ_TOKEN, width)

        await page.goto(f"{history.url}/ui/?model={history.model}")
        status = await api(history.url, f"/v1/slo/status?model={history.model}")
        rows = await page.eval_on_selector_all("#overview tbody tr", """rows => rows.map(r => [r.dataset.slo,
            r.dataset.client, r.dataset.budget, r.querySelector('.badge').textContent,
            r.querySelector('.spark-line').dataset.points])""")
        expected = [[s["slo"], s["client"], "" if s["budget_left"] is None else str(s["budget_left"]), s["state"]]
                    for s in status["statuses"]]
        assert [r[:4] for r in rows] == expected, "the overview lists what /v1/slo/status says, in its order"
        error_rows = [r for r in rows if r[0] == "error_rate"]
        assert [r[1] for r in error_rows] == [alpha, beta] and error_rows[0][3] == "incident"
        seen = f"over the {NOW_MINUTE} min seen of 30 days"
        assert await page.eval_on_selector_all("#overview tbody tr", "rows => rows.map(r => r.querySelector('.seen')"
                                                                     "?.textContent)") == [seen] * len(rows)
        assert {s["seen_since"] for s in status["statuses"]} == {iso(history.timeline.base).replace("Z", "+00:00")}
        hours = len({(history.timeline.base + timedelta(minutes=m)).hour for m in range(NOW_MINUTE)})
        assert all(int(r[4]) == hours for r in rows), "a point for each hour of the 24 with traffic"
        await screenshot(page, f"overview-{device}")

        await page.click(f"#overview tr[data-slo=error_rate][data-client='{alpha}'] a")
        await page.wait_for_url("**/ui/route?**")
        assert history.model in await page.inner_text("h1"), await page.inner_text("main")
        end = history.timeline.at(NOW_MINUTE, 0)
        points = (await api(history.url, f"/v1/usage/timeseries?model={history.model}&client={alpha}&interval=15m"
                                         f"&from={iso(end - timedelta(hours=24) - timedelta(minutes=(end.minute % 15)))}"
                                         f"&to={iso(end)}"))["points"]
        drawn = await drawn_points(page)
        assert drawn["requests"] == len(points), "every 15-minute bucket of the 24 hours, zeros included"
        assert drawn["5xx"] == sum(1 for p in points if p["requests"]) == len({(m + end.minute - NOW_MINUTE) // 15
                                                                                 for m in range(NOW_MINUTE)}), drawn
        assert await page.locator("line[data-threshold^='error_rate: objective']").count() == 1
        assert await page.locator("rect.band.open").count() >= 1, "the open incident is drawn on the timeline"
        assert history.incident_id in await page.inner_text("#route-incidents")
        assert await page.locator("#slos .seen").all_inner_texts() == [seen] * 3, "each SLO's budget left says it"
        assert await page.locator("figcaption", has_text=f"Error Rate: error budget left {seen}").count() == 1
        await screenshot(page, f"route-{device}")

        await page.goto(f"{history.url}/ui/route?provider=openai&model={history.model}&client={alpha}&range=1h")
        drawn = await drawn_points(page)
        assert (drawn["requests"], drawn["5xx"], drawn["p90"]) == (60, NOW_MINUTE, NOW_MINUTE), drawn  # a point a minute
        for title in ("Latency, time to first token (streamed requests)",
                      "Output tokens per second (streamed answers of 16+ tokens)"):
            chart = page.locator("figure.panel", has=page.locator("figcaption", has_text=title))
            assert await chart.locator("path.line").evaluate_all("paths => paths.map(p => p.dataset.points)") == [
                str(NOW_MINUTE)] * 3, title
        assert await page.locator("line[data-threshold^='generation_speed: p50 ≥ 20 tokens/s']").count() == 1
        assert await page.locator("line[data-threshold^='time_to_first_token: p50 ≤ 60,000 ms']").count() == 1

        await page.goto(f"{history.url}/ui/usage?range=24h&group_by=client")
        stats = await api(history.url, f"/v1/usage/stats?from={history.timeline.at(-24 * 60 + NOW_MINUTE, 0).isoformat()}"
                                       .replace("+", "%2B") + f"&to={history.timeline.at(NOW_MINUTE, 0).isoformat()}"
                                       .replace("+", "%2B") + "&group_by=client")
        table = dict(zip(await numbers(page, "#usage tbody tr", "data-group"),
                         await numbers(page, "#usage td[data-requests]", "data-requests"), strict=True))
        for group in stats["groups"]:
            assert table[group["client"]] == str(group["requests"])
        assert table[alpha] == table[beta] == str(40 * NOW_MINUTE)
        costs = dict(zip(await numbers(page, "#usage tbody tr", "data-group"),
                         await page.locator("#usage tbody td:last-child").all_inner_texts(), strict=True))
        drawn_costs = dict(zip(await numbers(page, "svg.bars text.value", "data-name"),
                               await page.locator("svg.bars text.value").all_text_contents(), strict=True))
        assert drawn_costs == costs, "the cost chart writes money as the table does"
        await screenshot(page, f"usage-{device}")

        await page.goto(f"{history.url}/ui/incidents")
        assert history.incident_id in await page.inner_text("#open-incidents")
        assert history.silence_id in await page.inner_text("#silences")
        assert await page.locator("summary.silence-open").count() == 0, "a read session sees no silence buttons"
        await screenshot(page, f"incidents-{device}")
        assert not console, console.errors


async def overview_state(page: Page, history: History) -> str:
    """The state of client A's error-rate SLO on the overview, checked against /v1/slo/status."""
    alpha = history.clients[0]
    await page.goto(f"{history.url}/ui/?model={history.model}&slo=error_rate&client={alpha}")
    shown = await page.inner_text(f"#overview tr[data-client='{alpha}'] .badge")
    [status] = (await api(history.url, f"/v1/slo/status?model={history.model}&slo=error_rate&client={alpha}"))["statuses"]
    assert shown == status["state"], "the overview and the API agree"
    return shown


async def test_an_admin_silences_an_incident_in_two_clicks_and_expires_it(history: History) -> None:
    async with chromium() as browser:
        page, console = await sign_in(browser, history.url, ADMIN_TOKEN)
        await page.goto(f"{history.url}/ui/incidents")
        row = page.locator(f"#incident-{history.incident_id}")
        await row.locator("summary.silence-open").click()
        await row.locator("button[type=submit]").click()
        await page.wait_for_url("**/ui/incidents?notice=**")
        assert "holds until" in await page.inner_text("[role=status]")
        current = (await api(history.url, "/v1/silences"))["silences"]
        [made] = [s for s in current if s["client"] == history.clients[0] and s["created_by"] == "alice"]
        assert (made["slo"], made["model"], made["state"]) == ("error_rate", history.model, "active")
        assert made["comment"] == f"working on incident {history.incident_id}"
        assert await overview_state(page, history) == "silenced", "the incident paged, then a silence took it over"

        await page.goto(f"{history.url}/ui/incidents")
        await page.locator(f"tr[data-silence='{made['id']}'] button").click()
        await page.wait_for_url("**/ui/incidents?notice=**")
        assert await overview_state(page, history) == "incident"
        after = {s["id"]: s["state"] for s in (await api(history.url, "/v1/silences?state=all"))["silences"]}
        assert after[made["id"]] == "expired" and after[history.silence_id] == "active"

        forged = await page.request.post(f"{history.url}/ui/silences", form={
            "csrf": "forged", "client": history.clients[0], "hours": "1", "comment": "x"})
        assert forged.status == 403, "a form without this session's CSRF token changes nothing"
        assert not console, console.errors


async def test_hostile_page_parameters_get_a_clear_400(history: History) -> None:
    async with chromium() as browser:
        page, _ = await sign_in(browser, history.url, READ_TOKEN)
        for path in ("/ui/route?provider=openai&model=x", "/ui/route?provider=a&model=b&client=c&range=1y",
                     "/ui/usage?group_by=user", "/ui/usage?range=forever"):
            answer = await page.goto(f"{history.url}{path}")
            assert answer is not None and answer.status == 400, path
            assert await page.locator("[role=alert] li").count() >= 1
        await page.goto(f"{history.url}/ui/?model=<script>alert(1)</script>")
        assert await page.locator("#overview tbody tr").count() == 0
        login = await page.goto(f"{history.url}/ui/login?next=https://evil.example/")
        assert login is not None and await page.get_attribute("input[name=next]", "value") == "/ui/"


def every_page(history: History) -> list[str]:
    alpha = history.clients[0]
    route = f"/ui/route?provider=openai&model={history.model}&client={alpha}"
    return ["/ui/", f"/ui/?model={history.model}", *(f"{route}&range={r}" for r in ("1h", "6h", "24h", "7d")),
            *(f"/ui/usage?range=24h&group_by={g}" for g in ("model", "client")), "/ui/usage?range=7d", "/ui/incidents",
            "/ui/route?provider=openai&model=x", "/ui/nowhere"]


PHONE_TABLES = ("overview", "open-incidents", "silences")
"""What a phone shows whole, each row a card: the SLOs and what on-call acts on (other tables scroll in their box)."""


async def cut_off_rows(page: Page) -> list[str]:
    """On a phone, the cells of PHONE_TABLES that are not inside the window."""
    if (page.viewport_size or {"width": 0})["width"] >= 640:
        return []
    return [f"{page.url}: {cell} is outside the window" for table in PHONE_TABLES for cell in await page.eval_on_selector_all(
        f"#{table} td", "cells => cells.filter(c => c.getBoundingClientRect().right > innerWidth + 1)"
                        ".map(c => `${c.closest('table').id} ${c.textContent.trim().slice(0, 40)}`)")]


@pytest.mark.parametrize("width", LAYOUT_WIDTHS)
async def test_every_page_fits_its_window_with_whole_buttons_and_labels(history: History, width: int) -> None:
    """An admin's session (it sees every button), the silence forms opened too; the sign-in page before that. The
    widths: a phone, a laptop, a desktop."""
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 900})
        await page.goto(f"{history.url}/ui/login")
        problems = await layout_problems(page)
        page, console = await sign_in(browser, history.url, ADMIN_TOKEN, width)
        for path in every_page(history):
            await page.goto(f"{history.url}{path}")
            problems += await layout_problems(page) + await cut_off_rows(page)
            if await page.locator("summary").count():
                for summary in await page.locator("summary").all():
                    await summary.click()
                problems += await layout_problems(page)
        assert problems == [], "\n".join(problems)
        assert all("404" in error or "400" in error for error in console.errors), console.errors
