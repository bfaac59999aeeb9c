"""Run one query against a chDB path in a process of its own (a path belongs to one process at a time)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def query_path(path: str, sql: str) -> list[list[Any]]:
    code = (
        "import json, sys, clickhouse_connect;"
        "c = clickhouse_connect.get_client(dsn=sys.argv[1]);"
        "print(json.dumps(c.query(sys.argv[2]).result_rows, default=str))"
    )
    out = subprocess.run([sys.executable, "-c", code, f"chdb://{path}", sql], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    rows: list[list[Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return rows
