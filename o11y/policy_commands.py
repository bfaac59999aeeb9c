"""`o11y status`, `o11y slo baseline`, `o11y slo backtest`: through the running API, else straight to ClickHouse.

Either way the answer is the API's JSON (`/v1/slo/status`, `/v1/slo/baseline`, `/v1/slo/backtest`), printed as it is
(`--json`) or as text; see `command_target` for which way a command goes.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from o11y.command_target import Api, CommandError, through_api_or_clickhouse
from runtime.settings import Settings

_SPAN = re.compile(r"^(\d{1,6})([mhd])$")
BACKTEST_WAIT_S = 1800
"""How long a backtest through the API may take (31 days of minutes over many routes takes minutes)."""


def parse_time(text: str, now: datetime, back: bool = False) -> datetime:
    """`2h`, `30m`, `1d` from now (`back`: before now), or an ISO-8601 time (UTC when it names no zone)."""
    span = _SPAN.match(text.strip())
    if span:
        amount, unit = int(span.group(1)), span.group(2)
        delta = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
        return now - delta if back else now + delta
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is neither a span (30m, 2h, 1d) nor an ISO-8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _policy(settings: Settings, path: Path | None) -> Any:
    from alerting.policy.slo_config import SloConfigError, load_policy

    try:
        return load_policy(path)
    except SloConfigError as err:
        raise CommandError(f"invalid SLO config: {err}") from None


def run_status(settings: Settings, as_json: bool) -> int:
    from api.status_api import status_table

    def direct(client: Any) -> dict[str, Any]:
        from api.status_api import load_status

        body = load_status(client, _policy(settings, settings.slo_config), settings, datetime.now(timezone.utc))
        found = body.pop("statuses")
        return {**body, "count": len(found), "statuses": [s.as_dict() for s in found]}

    body = through_api_or_clickhouse(settings, lambda api: api.json("GET", "/v1/slo/status?limit=100000"), direct)
    print(json.dumps(body, indent=2) if as_json else status_table(body))
    return 0


def run_baseline(settings: Settings, model: str, provider: str | None, client: str | None, as_json: bool) -> int:
    from alerting.policy.baseline import Selector, read_baseline
    from alerting.policy.baseline_words import baseline_words

    wanted = {k: v for k, v in (("model", model), ("provider", provider), ("client", client)) if v is not None}

    def direct(clickhouse: Any) -> dict[str, Any]:
        policy = _policy(settings, settings.slo_config)
        found = read_baseline(clickhouse, policy, Selector(model, provider, client), datetime.now(timezone.utc))
        return found.as_dict()

    body = through_api_or_clickhouse(settings, lambda api: api.json("GET", f"/v1/slo/baseline?{urlencode(wanted)}"),
                                     direct)
    print(json.dumps(body, indent=2) if as_json else baseline_words(body))
    return 0


def run_backtest(settings: Settings, start: str, end: str, candidate_path: str | None, as_json: bool) -> int:
    """Replay [start, end) with the policy in force (file and runtime overrides), and a candidate file beside it."""
    from alerting.backtest.report import report_table
    from alerting.backtest.run import backtest_range
    from alerting.policy.slo_config import SloConfigError, read_document

    now = datetime.now(timezone.utc)
    first, last = parse_time(start, now, back=True), parse_time(end, now, back=True)
    try:
        backtest_range(first, last)
    except ValueError as err:
        raise CommandError(f"--from/--to: {err}") from None
    document = None
    if candidate_path:
        _policy(settings, Path(candidate_path))  # refused here, with the file's name, before anything is asked
        try:
            document = read_document(Path(candidate_path))
        except SloConfigError as err:
            raise CommandError(f"invalid SLO config: {err}") from None

    def via_api(api: Api) -> dict[str, Any]:
        body = {"from": first.isoformat(), "to": last.isoformat(), **({"policy": document} if document else {})}
        print(f"o11y: replaying through {api.url} …", file=sys.stderr, flush=True)
        return dict(api.json("POST", "/v1/slo/backtest", body, timeout_s=BACKTEST_WAIT_S))

    def direct(client: Any) -> dict[str, Any]:
        from alerting.backtest.run import run_backtest as replay

        candidate = _policy(settings, Path(candidate_path)) if candidate_path else None
        show = _progress_bar if sys.stderr.isatty() and not as_json else None
        report = replay(client, _policy(settings, settings.slo_config), candidate, first, last, show)
        if show is not None:
            print(file=sys.stderr)
        return report

    report = through_api_or_clickhouse(settings, via_api, direct)
    print(json.dumps(report, indent=2) if as_json else report_table(report))
    return 0


def _progress_bar(fraction: float) -> None:
    done = int(fraction * 40)
    sys.stderr.write(f"\r[{'#' * done}{' ' * (40 - done)}] {fraction * 100:3.0f} %")
    sys.stderr.flush()
