"""`o11y silence add|list|expire`: through the running API (`/v1/silences`), else straight to ClickHouse.

Through the API a silence is recorded under the admin token's name, as every change made there is; `--author` names
the author only when the command writes to ClickHouse itself.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from o11y.command_target import Api, CommandError, through_api_or_clickhouse
from o11y.policy_commands import parse_time
from runtime.settings import Settings


def default_author() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # noqa: BLE001 - no user name on this machine
        return f"unknown@{socket.gethostname()}"


def _request(matchers: dict[str, str | None], starts: str | None, ends: str, comment: str, now: datetime) -> Any:
    from alerting.incidents.silences import SilenceRequest

    try:
        return SilenceRequest.model_validate({**{k: v for k, v in matchers.items() if v is not None},
                                              "starts_at": parse_time(starts, now) if starts else None,
                                              "ends_at": parse_time(ends, now), "comment": comment})
    except ValidationError as err:
        raise CommandError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'silence'}: "
                                     f"{e['msg'].removeprefix('Value error, ')}" for e in err.errors())) from None


def run_silence_add(settings: Settings, matchers: dict[str, str | None], starts: str | None, ends: str, comment: str,
                    author: str | None) -> int:
    from alerting.policy.store import PolicyStore

    now = datetime.now(timezone.utc)
    wanted = _request(matchers, starts, ends, comment, now)

    def via_api(api: Api) -> dict[str, Any]:
        answer = api.json("POST", "/v1/silences", wanted.model_dump(mode="json", exclude_none=True))
        if author:
            print(f"o11y: through the API the silence is recorded as {answer['silence']['created_by']}'s (the token's "
                  "name), not --author", file=sys.stderr)
        return dict(answer["silence"])

    def direct(client: Any) -> dict[str, Any]:
        try:
            silence = wanted.silence(author or default_author(), now)
        except ValueError as err:
            raise CommandError(str(err)) from None
        PolicyStore(client).save_silence(silence, now)
        return dict(silence.as_dict(now))

    silence = through_api_or_clickhouse(settings, via_api, direct)
    print(f"silence {silence['id']} added: {_describe(silence)}")
    return 0


def run_silence_list(settings: Settings, show_all: bool, as_json: bool) -> int:
    from alerting.policy.store import PolicyStore

    def direct(client: Any) -> list[dict[str, Any]]:
        now = datetime.now(timezone.utc)
        return [s.as_dict(now) for s in PolicyStore(client).silences(None if show_all else now)]

    found = through_api_or_clickhouse(
        settings, lambda api: list(api.json("GET", f"/v1/silences?state={'all' if show_all else 'current'}")["silences"]),
        direct)
    if as_json:
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print("no silences" + ("" if show_all else " active or pending (--all shows ended ones)"))
    for silence in found:
        print(f"{silence['id']}  {silence['state']:<8} {_describe(silence)}")
    return 0


def run_silence_expire(settings: Settings, silence_id: str, author: str | None) -> int:
    from alerting.policy.store import PolicyStore

    def direct(client: Any) -> None:
        now = datetime.now(timezone.utc)
        store = PolicyStore(client)
        silence = store.silence(silence_id)
        if silence is None:
            raise CommandError(f"no silence {silence_id}")
        if silence.state(now) in ("expired", "ended"):
            raise CommandError(f"silence {silence_id} already ended at {silence.ends_at:%Y-%m-%d %H:%M} UTC")
        store.save_silence(silence.expired(author or default_author(), now), now)

    through_api_or_clickhouse(settings, lambda api: api.call("DELETE", f"/v1/silences/{quote(silence_id, safe='')}"),
                              direct)
    print(f"silence {silence_id} expired")
    return 0


def _describe(silence: dict[str, Any]) -> str:
    matchers = " ".join(f"{k}={silence[k]}" for k in ("slo", "severity", "provider", "model", "client") if silence[k])
    return (f"{matchers}  {silence['starts_at'][:16]} → {silence['ends_at'][:16]} UTC  by {silence['created_by']}: "
            f"{silence['comment']}")
