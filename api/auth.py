"""Who is calling the API: `Authorization: Bearer <token>`, an admin token (may change things) or a read token.

401 without a token or with an unknown one; 403 for a read token where an admin one is needed, and for an
ingest secret anywhere (it authenticates gateways to ingest only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from runtime.client_secrets import ClientSecrets
from runtime.settings import Settings

Role = Literal["admin", "read"]


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role


class ApiAuth:
    def __init__(self, settings: Settings) -> None:
        self._admin = ClientSecrets(settings.admin_tokens)
        self._read = ClientSecrets(settings.api_tokens)
        self._ingest = ClientSecrets(settings.client_secrets)

    def caller(self, request: web.Request, needs: Role) -> Caller:
        """The caller, or an HTTP error (raised) saying why not; every kind of token is checked, in constant time each."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _error(web.HTTPUnauthorized,
                         "send Authorization: Bearer <token> (an O11Y_ADMIN_TOKENS or O11Y_API_TOKENS token)")
        admin, reader, ingest = self._admin.client_for(token), self._read.client_for(token), self._ingest.client_for(token)
        if admin is not None:
            return Caller(admin, "admin")
        if ingest is not None:
            raise _error(web.HTTPForbidden, "an ingest secret authenticates gateways to /ingest only")
        if reader is None:
            raise _error(web.HTTPUnauthorized, "unknown token")
        if needs == "admin":
            raise _error(web.HTTPForbidden, "a read token cannot change anything: use an O11Y_ADMIN_TOKENS token")
        return Caller(reader, "read")


def _error(kind: type[web.HTTPException], reason: str) -> web.HTTPException:
    headers = {"WWW-Authenticate": 'Bearer realm="o11y"'} if kind is web.HTTPUnauthorized else {}
    return kind(text=f'{{"success": false, "error": "{reason}"}}', content_type="application/json", headers=headers)
