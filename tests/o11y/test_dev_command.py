"""`o11y dev` as a newcomer runs it: starts, takes an event, stops with no process left behind, keeps its data."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis import Redis

from api.app import create_api_app
from o11y.dev import dev_admin_token, dev_token_file
from o11y.embedded import free_port
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.chdb_query import query_path
from support.events import seed_event
from support.processes import clean_env
from support.waiting import wait_until

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_commands() -> list[list[str]]:
    """The `o11y` commands the Quickstart tells a newcomer to run while `make dev` runs, to look at the data."""
    section = README.read_text().split("### See a page within two minutes", 1)[1].split("\n## ", 1)[0]
    block = section.split("To look at the data", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    words = shlex.split(block, comments=True)
    starts = [i for i, word in enumerate(words) if word == ".venv/bin/o11y"] + [len(words)]
    return [words[a + 1:b] for a, b in itertools.pairwise(starts)]


def o11y(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "o11y.cli", *args], env=env, capture_output=True, text=True, timeout=120)


def dev_session(data_dir: Path, user: str) -> tuple[list[str], str]:
    """Start `o11y dev`, send one event as `user`, wait until it is loaded, Ctrl-C; return what it printed and the
    main client's secret."""
    port, api_port = free_port(), free_port()
    env = clean_env(O11Y_HTTP_PORT=str(port), O11Y_API_PORT=str(api_port), O11Y_HTTP_HOST="127.0.0.1",
                    O11Y_DATA_DIR=str(data_dir))
    process = subprocess.Popen([sys.executable, "-m", "o11y.cli", "dev"], env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("ready" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert any("ready" in line for line in lines), "".join(lines)
        for component in ("kafka", "clickhouse", "redis", "ingest", "loader", "alerting", "api", "admin"):
            assert any(f"o11y dev: {component}" in line for line in lines), component
        secret = (data_dir / "dev-client-secret").read_text().strip()
        assert secret not in "".join(lines), "the banner names where the secret is, never the secret"
        assert any(f"its secret in {data_dir / 'dev-client-secret'}" in line for line in lines), "".join(lines)
        children = children_of(process.pid)
        assert len(children) >= 2, "the embedded broker and redis-server run as children"

        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/ingest/api-metrics",
            data=json.dumps(seed_event(clientSecret=secret, kiloUserId=user)).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204

        def loaded() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as metrics:
                return 'o11y_loader_rows_loaded_total{event_type="api-metrics"} 1.0' in metrics.read().decode()

        assert wait_until(loaded, timeout_s=60), "the loader of `o11y dev` never stored the event"
        token = (data_dir / "dev-admin-token").read_text().strip()
        incidents = urllib.request.Request(f"http://127.0.0.1:{api_port}/v1/incidents",
                                           headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(incidents, timeout=10) as answer:
            assert json.loads(answer.read()) == {"state": "open", "incidents": []}
        for command in (("status", "--json"), ("silence", "list"), ("slo", "baseline", "--model", "gpt-4")):
            ran = o11y(*command, env=env)  # while `o11y dev` holds var/chdb: through its API
            assert ran.returncode == 0 and "Traceback" not in ran.stderr, (command, ran.stderr)
        looks = quickstart_commands()
        assert ["sql"] in [c[:1] for c in looks], "the Quickstart shows o11y sql to look at the data"
        for words in looks:
            ran = o11y(*words, env=env)
            assert ran.returncode == 0 and ran.stdout.strip(), (words, ran.stderr)
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/ui/login", timeout=10) as login:
            page = login.read().decode()
        assert f"<code>{data_dir / 'dev-admin-token'}</code>" in page and token not in page, "where, never what"
        redis_url = re.search(r"o11y dev: redis\s+(redis://\S+)", "".join(lines))
        assert redis_url, "".join(lines)
        redis = Redis.from_url(redis_url.group(1))
        remembered = redis.get("o11y:test:remembered")
        lines.append(f"remembered: {remembered.decode() if isinstance(remembered, bytes) else remembered}\n")
        redis.set("o11y:test:remembered", user)
        redis.close()
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground process group
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, rest
        lines += rest.splitlines(keepends=True)
        stopping = "".join(lines).split("o11y dev: stopping", 1)[-1]
        errors = re.findall(r"^\S+ +(?:error|critical)\b.*$", stopping, flags=re.M | re.I)
        assert errors == [] and "Traceback" not in stopping, stopping
        assert "o11y dev: stopped" in stopping
        assert wait_until(lambda: not any(alive(c) for c in children), timeout_s=10), "a child outlived `o11y dev`"
        return lines, secret
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_dev_serves_loads_stops_cleanly_and_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first, first_secret = dev_session(data_dir, "first-run")
    second, second_secret = dev_session(data_dir, "second-run")
    assert first_secret == second_secret, "the dev secret survives a restart"
    rows = query_path(
        str((data_dir / "chdb").resolve()), "SELECT kilo_user_id, client_name FROM o11y.api_metrics ORDER BY kilo_user_id"
    )
    assert rows == [["first-run", "kilo-gateway"], ["second-run", "kilo-gateway"]]
    assert "remembered: None\n" in first and "remembered: first-run\n" in second, "Redis state survives a restart"
    assert (data_dir / "redis").is_dir()


async def test_the_sign_in_page_says_where_the_dev_token_is_only_when_it_is_this_process_token(
        aiohttp_client: Any, clickhouse: Any, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    token = dev_admin_token(tmp_path)
    path = tmp_path / "dev-admin-token"
    dev = settings.model_copy(update={"admin_tokens": {"dev-admin": [SecretStr(token)]}})
    assert dev_token_file(dev) == path
    assert dev_token_file(settings.model_copy(update={"admin_tokens": {"ops": [SecretStr("another-admin-token-0123")]}})) is None
    assert dev_token_file(Settings(data_dir=tmp_path / "elsewhere", admin_tokens=dev.admin_tokens)) is None

    for token_file, says in ((dev_token_file(dev), True), (None, False)):
        api = await aiohttp_client(create_api_app(dev, default_policy(), clickhouse, CollectorRegistry(),
                                                  token_file=token_file))
        page = await (await api.get("/ui/login")).text()
        assert (f"<code>{path}</code>" in page) is says and token not in page
