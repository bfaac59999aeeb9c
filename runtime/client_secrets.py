"""Client authentication: which client owns a secret, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from pydantic import SecretStr


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class ClientSecrets:
    """Maps secrets to client names; a client may hold several secrets (rotation).

    Every lookup compares the candidate with every known secret, so the time taken
    says nothing about which secret, or how much of one, matched.
    """

    def __init__(self, secrets: Mapping[str, Sequence[SecretStr | str]]) -> None:
        self._entries: list[tuple[bytes, str]] = [
            (_digest(s.get_secret_value() if isinstance(s, SecretStr) else s), name)
            for name, values in secrets.items()
            for s in values
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def client_for(self, secret: str | None) -> str | None:
        """The client owning `secret` (trimmed), or None for a blank or unknown one."""
        candidate = _digest((secret or "").strip())
        found: str | None = None
        for digest, name in self._entries:
            if hmac.compare_digest(candidate, digest):
                found = name
        if secret is None or not secret.strip():
            return None
        return found
