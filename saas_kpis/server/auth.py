"""Bearer-token authentication, one check for both transports."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable

# dbt-sl-sdk maps this message to its AuthError.
UNAUTHORIZED = "User is not authorized"


class TokenCheck:
    """Accepts exactly one `authorization: Bearer <token>` header carrying a known token (or,
    where a browser asks, `Basic` with the token as the password)."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = [token.encode() for token in tokens]

    def authorized(self, header_values: Iterable[str | bytes], *, basic: bool = False) -> bool:
        values = [v.encode() if isinstance(v, str) else v for v in header_values]
        if len(values) != 1:
            return False
        scheme, _, token = values[0].partition(b" ")
        token = token.strip()
        if basic and scheme.lower() == b"basic":
            try:
                _, _, token = base64.b64decode(token, validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return False
        elif scheme.lower() != b"bearer":
            return False
        # Compare against every token, so the time taken does not tell which one matched.
        matches = [hmac.compare_digest(token, known) for known in self._tokens]
        return any(matches)
