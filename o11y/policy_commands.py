"""`o11y slo baseline`, `o11y silence add|list|expire`: the policy tools, straight against ClickHouse."""

from __future__ import annotations

import getpass
import json
import logging
import re
import socket
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from runtime.settings import Settings

log = logging.getLogger(__name__)
_SPAN = re.compile(r"^(\d{1,6})([mhd])$")


class CommandError(Exception):
    """One line for the terminal; the command exits 2."""


def open_clickhouse(settings: Settings) -> Any:
    from o11y.serve import _setup_errors, open_alert_store

    try:
        return open_alert_store(settings)
    except _setup_errors() as err:
        raise CommandError(str(err)) from None


def default_author() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # noqa: BLE001 - no user name on this machine
        return f"unknown@{socket.gethostname()}"


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


def run_baseline(settings: Settings, model: str, provider: str | None, client: str | None, as_json: bool) -> int:
    from alerting.baseline import Selector, read_baseline
    from alerting.slo_config import load_policy

    policy = load_policy(settings.slo_config)
    found = read_baseline(open_clickhouse(settings), policy, Selector(model, provider, client), datetime.now(timezone.utc))
    print(json.dumps(found.as_dict(), indent=2) if as_json else found.describe())
    return 0


def run_status(settings: Settings, as_json: bool) -> int:
    from alerting.slo_config import load_policy
    from api.status_api import load_status, status_table

    body = load_status(open_clickhouse(settings), load_policy(settings.slo_config), settings, datetime.now(timezone.utc))
    found = body.pop("statuses")
    if as_json:
        print(json.dumps({**body, "statuses": [s.as_dict() for s in found]}, indent=2))
    else:
        print(status_table(body, found))
    return 0


def run_silence_add(settings: Settings, matchers: dict[str, str | None], starts: str | None, ends: str, comment: str,
                    author: str | None) -> int:
    from alerting.policy_store import PolicyStore
    from alerting.silences import SilenceRequest

    now = datetime.now(timezone.utc)
    try:
        wanted = SilenceRequest.model_validate({**{k: v for k, v in matchers.items() if v is not None},
                                                "starts_at": parse_time(starts, now) if starts else None,
                                                "ends_at": parse_time(ends, now), "comment": comment})
        silence = wanted.silence(author or default_author(), now)
    except ValidationError as err:
        raise CommandError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'silence'}: "
                                     f"{e['msg'].removeprefix('Value error, ')}" for e in err.errors())) from None
    except ValueError as err:
        raise CommandError(str(err)) from None
    PolicyStore(open_clickhouse(settings)).save_silence(silence, now)
    print(f"silence {silence.id} added: {_describe(silence.as_dict(now))}")
    return 0


def run_silence_list(settings: Settings, show_all: bool, as_json: bool) -> int:
    from alerting.policy_store import PolicyStore

    now = datetime.now(timezone.utc)
    found = [s.as_dict(now) for s in PolicyStore(open_clickhouse(settings)).silences(None if show_all else now)]
    if as_json:
        print(json.dumps(found, indent=2))
    elif not found:
        print("no silences" + ("" if show_all else " active or pending (--all shows ended ones)"))
    for silence in found if not as_json else []:
        print(f"{silence['id']}  {silence['state']:<8} {_describe(silence)}")
    return 0


def run_silence_expire(settings: Settings, silence_id: str, author: str | None) -> int:
    from alerting.policy_store import PolicyStore

    now = datetime.now(timezone.utc)
    store = PolicyStore(open_clickhouse(settings))
    silence = store.silence(silence_id)
    if silence is None:
        raise CommandError(f"no silence {silence_id}")
    if silence.state(now) in ("expired", "ended"):
        raise CommandError(f"silence {silence_id} already ended at {silence.ends_at:%Y-%m-%d %H:%M} UTC")
    store.save_silence(silence.expired(author or default_author(), now), now)
    print(f"silence {silence_id} expired")
    return 0


def _describe(silence: dict[str, Any]) -> str:
    matchers = " ".join(f"{k}={silence[k]}" for k in ("slo", "severity", "provider", "model", "client") if silence[k])
    return (f"{matchers}  {silence['starts_at'][:16]} → {silence['ends_at'][:16]} UTC  by {silence['created_by']}: "
            f"{silence['comment']}")


def run_backtest(settings: Settings, start: str, end: str, candidate_path: str | None, as_json: bool) -> int:
    """Replay [start, end) with the policy in force (file and runtime overrides), and a candidate file beside it."""
    import sys
    from pathlib import Path

    from alerting.backtest import compare, history_start, replay
    from alerting.backtest_report import report_dict, report_table
    from alerting.policy_store import PolicyStore
    from alerting.replay_minutes import read_minutes, specs_of
    from alerting.slo_config import SloConfigError, load_policy
    from alerting.window_query import window_end

    now = datetime.now(timezone.utc)
    first, last = window_end(parse_time(start, now, back=True)), window_end(parse_time(end, now, back=True))
    if last <= first:
        raise CommandError("--to must be at least a minute after --from")
    if last - first > timedelta(days=31):
        raise CommandError("a backtest covers at most 31 days")
    try:
        current = load_policy(settings.slo_config)
        candidate = load_policy(Path(candidate_path)) if candidate_path else None
    except SloConfigError as err:
        raise CommandError(f"invalid SLO config: {err}") from None
    client = open_clickhouse(settings)
    store = PolicyStore(client)
    live, _ = store.overrides()
    current, _ = current.with_live(live)
    if candidate is not None:
        candidate, _ = candidate.with_live(live)
    policies = [current] + ([candidate] if candidate is not None else [])
    silences = store.silences(ended_after=history_start(first, *policies))
    minutes = read_minutes(client, specs_of(*policies), history_start(first, *policies), last)
    show = _progress_bar if sys.stderr.isatty() and not as_json else None
    base = replay(minutes, current, silences, first, last, "current", show)
    other = replay(minutes, candidate, silences, first, last, "candidate", show) if candidate is not None else None
    if show is not None:
        print(file=sys.stderr)
    diff = compare(base, other) if other is not None else None
    print(json.dumps(report_dict(base, other, diff), indent=2) if as_json else report_table(base, other, diff))
    return 0


def _progress_bar(fraction: float) -> None:
    import sys

    done = int(fraction * 40)
    sys.stderr.write(f"\r[{'#' * done}{' ' * (40 - done)}] {fraction * 100:3.0f} %")
    sys.stderr.flush()
