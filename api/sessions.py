"""The pages' sign-in: a session cookie that names the caller, their role and a random session id, signed, never
holding the token (pure: signing out is `api.session_revocations`).

The signing key is derived from every configured admin and read token, so that any process of the same configuration
accepts the cookie and removing or rotating a token signs everyone out. A cookie lives `SESSION_HOURS`; forms that
change something carry a token derived from the cookie (`csrf`), and the cookie is `SameSite=Strict` and `HttpOnly`.
The sign-in form itself carries a token derived from a pre-session cookie (`LOGIN_COOKIE`, a random nonce), so that
another site cannot sign a browser in under its own token (login CSRF).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from api.auth import Caller
from runtime.settings import Settings

COOKIE = "o11y_session"
LOGIN_COOKIE = "o11y_login"
SESSION_HOURS = 12
_NONCE = re.compile(r"[A-Za-z0-9_-]{24,64}")


@dataclass(frozen=True)
class Session:
    caller: Caller
    session_id: str
    """Random, one per sign-in: what a sign-out records."""
    expires_at: datetime


def _key(settings: Settings) -> bytes:
    material = json.dumps({kind: {name: sorted(s.get_secret_value() for s in values) for name, values in tokens.items()}
                           for kind, tokens in (("admin", settings.admin_tokens), ("read", settings.api_tokens))},
                          sort_keys=True)
    return hashlib.sha256(b"o11y pages session\0" + material.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    def __init__(self, settings: Settings) -> None:
        self._key = _key(settings)

    def _mac(self, payload: str, purpose: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\0{payload}".encode(), hashlib.sha256).digest())

    def issue(self, caller: Caller, now: datetime) -> str:
        expires = int((now + timedelta(hours=SESSION_HOURS)).timestamp())
        session_id = secrets.token_urlsafe(18)
        payload = _b64(json.dumps([caller.name, caller.role, expires, session_id], separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload, 'session')}"

    def read(self, cookie: str | None, now: datetime) -> Session | None:
        """The session a cookie holds, or None when it is missing, forged, malformed or expired (signed out is not
        known here)."""
        if not cookie or len(cookie) > 1024 or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(payload, "session")):
            return None
        try:
            name, role, expires, session_id = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            return None
        if role not in ("admin", "read") or not isinstance(expires, int) or expires <= now.timestamp():
            return None
        return Session(Caller(str(name), role), str(session_id), datetime.fromtimestamp(expires, timezone.utc))

    def csrf(self, cookie: str) -> str:
        """What a form that changes something must send back: only a page served to this session knows it."""
        return self._mac(cookie, "csrf")

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf(cookie or ""), token or "")

    @staticmethod
    def login_nonce(cookie: str | None) -> str:
        """The pre-session cookie's nonce when it looks like one, else a new one."""
        return cookie if cookie and _NONCE.fullmatch(cookie) else secrets.token_urlsafe(24)

    def login_csrf(self, nonce: str) -> str:
        """What the sign-in form sends back: only a sign-in page served to the browser holding `nonce` knows it."""
        return self._mac(nonce, "login")

    def login_csrf_ok(self, nonce: str | None, token: str | None) -> bool:
        return bool(nonce and token) and hmac.compare_digest(self.login_csrf(nonce or ""), token or "")
