"""Runtime overrides and silences in ClickHouse: every change kept with who and when; the evaluator reads them each tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from alerting.incidents.silences import Silence
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy
from schemas.slo_overrides import OverrideMatch, SloOverride
from storage.alerting import SILENCES, SLO_OVERRIDE_CHANGES

OVERRIDE_CHANGE_COLUMNS = SLO_OVERRIDE_CHANGES.column_names
SILENCE_COLUMNS = SILENCES.column_names


@dataclass(frozen=True)
class OverrideChange:
    changed_at: datetime
    match_key: str
    action: str
    override: SloOverride | None
    previous: SloOverride | None
    changed_by: str

    def as_dict(self) -> dict[str, Any]:
        return {"changed_at": self.changed_at.isoformat(), "match": self.match_key, "action": self.action,
                "override": _dump(self.override), "previous": _dump(self.previous), "changed_by": self.changed_by}


def _dump(override: SloOverride | None) -> dict[str, Any] | None:
    return override.model_dump(mode="json", exclude_none=True) if override is not None else None


def _load(text: str) -> SloOverride | None:
    """A stored override, or None (also for one that no longer reads under today's rules: `overrides` says why)."""
    try:
        return SloOverride.model_validate_json(text) if text else None
    except ValidationError:
        return None


def _unreadable(key: str, by: str, at: datetime, err: ValidationError) -> str:
    reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors(include_url=False)[:3])
    return f"override {key} (stored {_utc(at):%Y-%m-%d %H:%M} UTC by {by}) no longer reads: {reasons}"


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


class PolicyStore:
    def __init__(self, client: ClickHouseClient) -> None:
        self._client = client

    # Overrides: an append-only log of changes; in force is the latest `put` per match.

    def changes(self, limit: int = 100) -> list[OverrideChange]:
        columns = ", ".join(OVERRIDE_CHANGE_COLUMNS)
        rows = self._client.query(
            f"SELECT {columns} FROM {SLO_OVERRIDE_CHANGES} ORDER BY changed_at DESC LIMIT {{limit:UInt32}}",
            parameters={"limit": limit},
        ).result_rows
        return [_change(dict(zip(OVERRIDE_CHANGE_COLUMNS, row, strict=True))) for row in rows]

    def overrides(self) -> tuple[list[SloOverride], list[str]]:
        """The overrides in force, oldest change first; one stored under older rules that no longer reads (a number
        beyond today's bounds, say) is left out, with the reason."""
        rows = self._client.query(
            "SELECT match_key, argMax(action, changed_at), argMax(override, changed_at), argMax(changed_by, changed_at), "
            f"max(changed_at) AS at FROM {SLO_OVERRIDE_CHANGES} GROUP BY match_key ORDER BY at"
        ).result_rows
        kept, problems = [], []
        for key, action, text, by, at in rows:
            if action != "put":
                continue
            try:
                kept.append(SloOverride.model_validate_json(text))
            except ValidationError as err:
                problems.append(_unreadable(key, by, at, err))
        return kept, problems

    def live(self, policy: AlertPolicy) -> tuple[AlertPolicy, list[str]]:
        """`policy` with the overrides in force, and why any stored one was left out."""
        found, unreadable = self.overrides()
        applied, problems = policy.with_live(found)
        return applied, unreadable + problems

    def current(self, match: OverrideMatch) -> SloOverride | None:
        rows = self._client.query(
            f"SELECT argMax(action, changed_at), argMax(override, changed_at) FROM {SLO_OVERRIDE_CHANGES} "
            "WHERE match_key = {key:String}", parameters={"key": match.key()},
        ).result_rows
        if not rows or rows[0][0] != "put":
            return None
        return _load(rows[0][1])

    def put_override(self, override: SloOverride, by: str, now: datetime) -> OverrideChange:
        previous = self.current(override.match)
        return self._record(OverrideChange(now, override.match.key(), "put", override, previous, by))

    def delete_override(self, match: OverrideMatch, by: str, now: datetime) -> OverrideChange | None:
        previous = self.current(match)
        if previous is None:
            return None
        return self._record(OverrideChange(now, match.key(), "delete", None, previous, by))

    def _record(self, change: OverrideChange) -> OverrideChange:
        text = {"override": change.override, "previous": change.previous}
        row = [_naive(change.changed_at), change.match_key, change.action,
               *(o.model_dump_json(exclude_none=True) if o is not None else "" for o in text.values()), change.changed_by]
        self._client.insert(str(SLO_OVERRIDE_CHANGES), [row], column_names=list(OVERRIDE_CHANGE_COLUMNS))
        return change

    # Silences: a row per revision.

    def silences(self, ended_after: datetime | None = None, silence_id: str | None = None) -> list[Silence]:
        """Silences (latest revision each) that end after `ended_after`, newest start first."""
        columns = ", ".join(SILENCE_COLUMNS)
        where = ["ends_at > {after:DateTime}" if ended_after is not None else "1",
                 "silence_id = {id:String}" if silence_id is not None else "1"]
        rows = self._client.query(
            f"SELECT {columns} FROM (SELECT {columns} FROM {SILENCES} ORDER BY silence_id, revision DESC "
            f"LIMIT 1 BY silence_id) WHERE {' AND '.join(where)} ORDER BY starts_at DESC, silence_id",
            parameters={"after": _naive(ended_after) if ended_after else None, "id": silence_id},
        ).result_rows
        return [_silence(dict(zip(SILENCE_COLUMNS, row, strict=True))) for row in rows]

    def silence(self, silence_id: str) -> Silence | None:
        found = self.silences(silence_id=silence_id)
        return found[0] if found else None

    def save_silence(self, silence: Silence, now: datetime) -> Silence:
        row = [silence.id, silence.revision, _naive(now), silence.slo, silence.severity, silence.provider, silence.model,
               silence.client, _naive(silence.starts_at), _naive(silence.ends_at), silence.created_by, silence.comment,
               silence.expired_by]
        self._client.insert(str(SILENCES), [row], column_names=list(SILENCE_COLUMNS))
        return silence


def _change(values: dict[str, Any]) -> OverrideChange:
    return OverrideChange(_utc(values["changed_at"]), values["match_key"], values["action"], _load(values["override"]),
                          _load(values["previous"]), values["changed_by"])


def _silence(values: dict[str, Any]) -> Silence:
    return Silence(values["silence_id"], values["slo"], values["severity"], values["provider"], values["model"],
                   values["client_name"], _utc(values["starts_at"]), _utc(values["ends_at"]), values["created_by"],
                   values["comment"], values["expired_by"], int(values["revision"]))
