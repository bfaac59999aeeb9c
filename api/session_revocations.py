"""Signed-out page sessions, in `o11y.revoked_sessions`: a cookie one `o11y api` process signed out, every one refuses.

A process reads the list (the sign-outs whose sessions have not expired yet: a few rows) when a request brings a
session cookie and the last read is older than `FRESH_FOR`; its own sign-outs apply at once. When the list could not
be read for `TRUSTED_FOR`, a session cannot be told from a signed-out one: `RevocationsUnknown`, and the caller answers
503 rather than let a signed-out cookie in.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from api.sessions import Session
from runtime.clickhouse import ClickHouseClient
from storage.sessions import REVOKED_SESSIONS

log = logging.getLogger(__name__)
FRESH_FOR = timedelta(seconds=5)
TRUSTED_FOR = timedelta(seconds=60)
TABLE = str(REVOKED_SESSIONS)


class RevocationsUnknown(Exception):
    """ClickHouse has not answered which sessions are signed out for longer than `TRUSTED_FOR`."""


def _naive(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(tzinfo=None)


class Revocations:
    def __init__(self, clickhouse: ClickHouseClient, fresh_for: timedelta = FRESH_FOR,
                 trusted_for: timedelta = TRUSTED_FOR) -> None:
        self._clickhouse, self._fresh_for, self._trusted_for = clickhouse, fresh_for, trusted_for
        self._read: frozenset[str] = frozenset()
        self._own: dict[str, datetime] = {}
        """This process's sign-outs → when their sessions expire: refused at once, whatever the last read said."""
        self._read_at: datetime | None = None
        self._tried_at: datetime | None = None
        self._lock = asyncio.Lock()

    def revoked(self, session_id: str) -> bool:
        return session_id in self._own or session_id in self._read

    async def ensure_fresh(self, now: datetime) -> None:
        """Re-read the list unless it was read (or tried) within `FRESH_FOR`; raises `RevocationsUnknown`."""
        if self._due(now):
            await self._refresh(now)
        if self._read_at is None or now - self._read_at > self._trusted_for:
            raise RevocationsUnknown

    async def _refresh(self, now: datetime) -> None:
        async with self._lock:
            if self._due(now):
                self._tried_at = now
                self._own = {sid: expires for sid, expires in self._own.items() if expires > now}
                try:
                    self._read = await asyncio.to_thread(self._sign_outs, now)
                    self._read_at = now
                except Exception as err:  # noqa: BLE001 - any failure: keep the last list while it may be trusted
                    log.warning("could not read the signed-out sessions: %s", type(err).__name__)

    def _due(self, now: datetime) -> bool:
        return self._tried_at is None or not timedelta(0) <= now - self._tried_at < self._fresh_for

    def _sign_outs(self, now: datetime) -> frozenset[str]:
        rows = self._clickhouse.query(f"SELECT session_id FROM {TABLE} WHERE expires_at > {{now:DateTime}}",
                                      parameters={"now": _naive(now)}).result_rows
        return frozenset(str(sid) for (sid,) in rows)

    async def revoke(self, session: Session, now: datetime) -> None:
        """Sign a session out: refused here at once, and by every process once ClickHouse has the row (raises if not)."""
        self._own[session.session_id] = session.expires_at
        row = [session.session_id, _naive(now), _naive(session.expires_at), session.caller.name]
        await asyncio.to_thread(self._clickhouse.insert, TABLE, [row],
                                column_names=["session_id", "revoked_at", "expires_at", "revoked_by"])
