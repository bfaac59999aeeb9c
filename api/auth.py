"""Who is calling the API: `Authorization: Bearer <token>`, an admin token (may change things) or a read token.

401 without a token or with an unknown one; 403 for a read token where an admin one is needed, and for an
ingest secret anywhere (it authenticates gateways to ingest only). A signed-in page's session (`SIGNED_IN`, set by the
session middleware) stands for a read token on GET requests (so that a page can link to an export); it never
authorizes a change here.
"""

from __future__ import annotations

import json
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


SIGNED_IN = web.RequestKey("signed_in", Caller)
"""The caller a valid, unrevoked session cookie names; absent without one."""


class ApiAuth:
    def __init__(self, settings: Settings) -> None:
        self._admin = ClientSecrets(settings.admin_tokens)
        self._read = ClientSecrets(settings.api_tokens)
        self._ingest = ClientSecrets(settings.client_secrets)

    def token_caller(self, token: str) -> Caller | None:
        """Who a token belongs to (admin or reader), or None for an unknown token or an ingest secret."""
        admin, reader = self._admin.client_for(token), self._read.client_for(token)
        if admin is not None:
            return Caller(admin, "admin")
        if reader is not None and self._ingest.client_for(token) is None:
            return Caller(reader, "read")
        return None

    def caller(self, request: web.Request, needs: Role) -> Caller:
        """The caller, or an HTTP error (raised) saying why not; every kind of token is checked, in constant time each."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if "Authorization" not in request.headers and needs == "read" and request.method in ("GET", "HEAD"):
            signed_in = request.get(SIGNED_IN)
            if signed_in is not None:
                return Caller(signed_in.name, "read")
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
    return kind(text=json.dumps({"success": False, "error": reason}), content_type="application/json", headers=headers)
