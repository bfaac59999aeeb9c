"""`o11y dev` as a newcomer runs it: starts, takes an event, stops with no process left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from chdb_query import query_path
from conftest import seed_event, wait_until

from o11y.embedded import free_port


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(c) for c in text)
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_dev_serves_the_ingest_api_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("O11Y_")}
    env.update(O11Y_HTTP_PORT=str(port), O11Y_HTTP_HOST="127.0.0.1", O11Y_DATA_DIR=str(tmp_path / "var"))
    process = subprocess.Popen(
        [sys.executable, "-m", "o11y.cli", "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "ready" in line:
                break
        assert any("ready" in line for line in lines), "".join(lines)
        secret = re.search(r"with secret (\S+)", "".join(lines))
        assert secret, "".join(lines)
        children = children_of(process.pid)
        assert children, "the embedded broker should run as a child"

        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/ingest/api-metrics",
            data=json.dumps(seed_event(clientSecret=secret.group(1))).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204

        def loaded() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as metrics:
                return "o11y_loader_rows_loaded_total 1.0" in metrics.read().decode()

        assert wait_until(loaded, timeout_s=60), "the loader of `o11y dev` never stored the event"

        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        deadline = time.monotonic() + 10
        while any(alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(c) for c in children), "a child outlived `o11y dev`"
        rows = query_path(str((tmp_path / "var" / "chdb").resolve()),
                          "SELECT kilo_user_id, client_name FROM o11y.api_metrics")
        assert rows == [["user_123", "dev-gateway"]], "the loader of `o11y dev` should have stored the event"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
