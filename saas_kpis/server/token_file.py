"""The token file (`SAAS_KPIS_SL_TOKEN_FILE`): named tokens, stored as SHA-256 hashes, each with
its scope (see `scopes` and the README).

```yaml
tokens:
  - name: cs-enterprise            # shown in the server log, never the token
    sha256: <64 hex digits>        # `python -m saas_kpis.server token NAME` prints a new one
    metrics: [mrr, arr]            # optional allow-list by metric name
    metric_tiers: [guardrail]      # optional allow-list by the `tier` of a metric's meta
    row_filter: "{{ Dimension('account_month__plan_tier') }} = 'enterprise'"   # optional
```

`load_token_file` checks the file's own rules (keys, types, duplicates, a row filter the server's
filter whitelist accepts); `check_against_layer` checks its names against a snapshot's manifest.
Every error names the file, the entry and the rule, and stops the server at startup.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from saas_kpis.semantic import SemanticLayer
from saas_kpis.server.auth import HashedToken, Principal, token_sha256
from saas_kpis.server.scopes import TIER_KEY, Scope, metric_references, row_filter_accepted
from saas_kpis.server.statements import StatementError, validate_where

KEYS = ("name", "sha256", "metrics", "metric_tiers", "row_filter")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


class TokenFileError(ValueError):
    """A token file that breaks a rule; the message names the file, the entry and the rule."""


@dataclass(frozen=True)
class FileToken:
    """One entry of the token file."""

    name: str
    sha256: bytes
    scope: Scope

    def hashed(self) -> HashedToken:
        return HashedToken(sha256=self.sha256, principal=Principal(self.name, self.scope))


def load_token_file(path: Path) -> list[FileToken]:
    """The file's tokens, or TokenFileError."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TokenFileError(f"{path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise TokenFileError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(document, dict) or set(document) != {"tokens"}:
        raise TokenFileError(f"{path}: must be a mapping with the one key `tokens`")
    entries = document["tokens"]
    if not isinstance(entries, list) or not entries:
        raise TokenFileError(f"{path}: `tokens` must be a non-empty list")
    tokens: list[FileToken] = []
    for index, entry in enumerate(entries):
        token = parse_entry(entry, f"{path}: tokens[{index}]")
        where = f"{path}: tokens[{index}] ({token.name})"
        if any(known.name == token.name for known in tokens):
            raise TokenFileError(f"{where}: the name is used by an earlier entry")
        if any(known.sha256 == token.sha256 for known in tokens):
            raise TokenFileError(f"{where}: the sha256 is that of an earlier entry")
        tokens.append(token)
    return tokens


def parse_entry(entry: Any, where: str) -> FileToken:
    if not isinstance(entry, dict):
        raise TokenFileError(f"{where}: an entry must be a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise TokenFileError(
            f"{where}: `name` must be 1-64 letters, digits, `_`, `.` or `-`, starting with a "
            "letter or digit"
        )
    where = f"{where} ({name})"
    unknown = sorted(str(key) for key in entry if key not in KEYS)
    if unknown:
        raise TokenFileError(
            f"{where}: unknown key(s) {', '.join(unknown)}; an entry has {', '.join(KEYS)}"
        )
    digest = entry.get("sha256")
    if not isinstance(digest, str) or not SHA256_PATTERN.fullmatch(digest):
        raise TokenFileError(f"{where}: `sha256` must be 64 lowercase hex digits")
    return FileToken(
        name=name,
        sha256=bytes.fromhex(digest),
        scope=Scope(
            metrics=name_list(entry, "metrics", where),
            metric_tiers=name_list(entry, "metric_tiers", where),
            row_filter=row_filter(entry, where),
        ),
    )


def name_list(entry: dict[str, Any], key: str, where: str) -> frozenset[str] | None:
    if key not in entry:
        return None
    values = entry[key]
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(value, str) and value for value in values)
    ):
        raise TokenFileError(f"{where}: `{key}` must be a non-empty list of names")
    return frozenset(values)


def row_filter(entry: dict[str, Any], where: str) -> str | None:
    """The entry's row filter, in the canonical form the server passes to MetricFlow."""
    if "row_filter" not in entry:
        return None
    text = entry["row_filter"]
    if not isinstance(text, str):
        raise TokenFileError(f"{where}: `row_filter` must be a string")
    try:
        canonical = validate_where(text)
    except StatementError as error:
        raise TokenFileError(f"{where}: `row_filter` is not a valid filter: {error}") from None
    if metric_references(canonical):
        # The row filter must hold for every row; a Metric() subquery ignores where constraints.
        raise TokenFileError(f"{where}: `row_filter` may not reference Metric()")
    return canonical


def check_against_layer(path: Path, tokens: list[FileToken], layer: SemanticLayer) -> None:
    """Check the file's metric names, tiers and row filters against a snapshot's manifest."""
    metrics = layer.metrics()
    names = {metric.name for metric in metrics}
    tiers = {metric.meta.get(TIER_KEY) for metric in metrics} - {None}
    for index, token in enumerate(tokens):
        where = f"{path}: tokens[{index}] ({token.name})"
        scope = token.scope
        unknown = sorted((scope.metrics or frozenset()) - names)
        if unknown:
            raise TokenFileError(f"{where}: unknown metric(s) {', '.join(unknown)}")
        unknown = sorted((scope.metric_tiers or frozenset()) - tiers)
        if unknown:
            raise TokenFileError(
                f"{where}: unknown metric tier(s) {', '.join(unknown)}; the manifest's tiers "
                f"are {', '.join(sorted(tiers))}"
            )
        if scope.row_filter is None:
            continue
        admitted = [metric.name for metric in metrics if scope.admits(metric)]
        if not any(row_filter_accepted(layer, name, scope.row_filter) for name in admitted):
            raise TokenFileError(
                f"{where}: `row_filter` does not validate: MetricFlow accepts it for none of "
                "the token's metrics"
            )


def new_token_line(name: str) -> tuple[str, str]:
    """A new random token and the token-file entry for it (which holds only its hash)."""
    if not NAME_PATTERN.fullmatch(name):
        raise TokenFileError(f"token name {name!r}: use letters, digits, `_`, `.` or `-`")
    token = secrets.token_urlsafe(32)
    return token, f"  - name: {name}\n    sha256: {token_sha256(token).hex()}\n"
