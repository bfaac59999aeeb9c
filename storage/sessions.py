"""The pages' sign-outs: sessions every `o11y api` process refuses before they expire."""

from __future__ import annotations

from storage.table import Column, Table

REVOKED_SESSIONS = Table(
    "revoked_sessions", "Page sessions signed out before they expired; a row lives as long as its session would have.",
    (
        Column("session_id", "String", "The signed-out session's random id, from its cookie (useless without the cookie's "
                                       "signature)."),
        Column("revoked_at", "DateTime64(3, 'UTC')", "When it was signed out."),
        Column("expires_at", "DateTime('UTC')", "When the session would have expired anyway; the row goes then."),
        Column("revoked_by", "String", "Whose session it was: the name of the token it was signed in with."),
    ),
    engine="MergeTree", order_by="session_id", since=8, ttl=lambda r: "expires_at", sharding="cityHash64(session_id)",
)
