"""Bearer-token authentication, one check for both transports, and who a request comes from."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from saas_kpis.server.scopes import UNSCOPED, Scope

# dbt-sl-sdk maps this message to its AuthError.
UNAUTHORIZED = "User is not authorized"


@dataclass(frozen=True)
class Principal:
    """The holder of one token: what the server knows of a request's sender, and what it may
    see (`scopes`)."""

    name: str
    scope: Scope = UNSCOPED


@dataclass(frozen=True)
class HashedToken:
    """A token known by the SHA-256 of its text (from the token file), and its holder."""

    sha256: bytes
    principal: Principal


def token_sha256(token: str | bytes) -> bytes:
    return hashlib.sha256(token.encode() if isinstance(token, str) else token).digest()


class TokenCheck:
    """Accepts exactly one `authorization: Bearer <token>` header carrying a known token (or,
    where a browser asks, `Basic` with the token as the password). Plain tokens are unscoped;
    hashed tokens carry the principal (name and scope) of their token-file entry."""

    def __init__(self, tokens: Iterable[str], hashed: Iterable[HashedToken] = ()) -> None:
        self._tokens = [
            (token.encode(), Principal(f"token-{number}"))
            for number, token in enumerate(tokens, start=1)
        ]
        self._hashed = [(entry.sha256, entry.principal) for entry in hashed]

    def identify(
        self, header_values: Iterable[str | bytes], *, basic: bool = False
    ) -> Principal | None:
        """The principal of a request's authorization headers, or None when they fail."""
        values = [v.encode() if isinstance(v, str) else v for v in header_values]
        if len(values) != 1:
            return None
        scheme, _, token = values[0].partition(b" ")
        token = token.strip()
        if basic and scheme.lower() == b"basic":
            try:
                _, _, token = base64.b64decode(token, validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return None
        elif scheme.lower() != b"bearer":
            return None
        # Compare against every token, so the time taken does not tell which one matched.
        found = None
        for known, principal in self._tokens:
            if hmac.compare_digest(token, known):
                found = principal
        digest = token_sha256(token)
        for known, principal in self._hashed:
            if hmac.compare_digest(digest, known):
                found = principal
        return found

    def authorized(self, header_values: Iterable[str | bytes], *, basic: bool = False) -> bool:
        return self.identify(header_values, basic=basic) is not None
