"""The server's limits on what one request may ask for, and their settings.

Every bound that keeps one token holder from starving the others is a field of `Limits`, read
once from `SAAS_KPIS_SL_*` environment variables by `__main__` and handed to both transports.
The checks here are cheap (counts and lengths) and run before anything expensive sees a request:
before GraphQL validation, sqlglot's filter checks or MetricFlow's planning.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from saas_kpis.semantic import QueryRequest
from saas_kpis.semantic.query_control import QueryBounds

MIB = 1024 * 1024


class LimitError(ValueError):
    """A request over one of the server's limits; the message names the limit."""


class BusyError(LimitError):
    """The server has no room for the request now; the client should retry later."""


@dataclass(frozen=True)
class Limits:
    """Every per-request and per-token bound of the server (the defaults are the settings')."""

    # HTTP: the largest request body, in bytes, refused with 413 before it is parsed.
    max_body_bytes: int = 1 * MIB
    # GraphQL documents: lexer tokens, selected fields (aliases included) and nesting depth.
    # graphql-core's validation is quadratic in repeated fields (500 took a second, 4,000 took
    # 11 s) and runs on the event loop; dbt-sl-sdk's largest document selects 29 fields.
    max_graphql_tokens: int = 5000
    max_graphql_fields: int = 100
    max_graphql_depth: int = 12
    # One query: how many metrics, group-bys, order-bys and where filters, and filter length.
    max_metrics: int = 20
    max_group_by: int = 20
    max_order_by: int = 20
    max_filters: int = 20
    max_filter_chars: int = 2000
    # Query workers: threads running warehouse SQL; per token, how many may run and wait.
    query_workers: int = 4
    running_per_token: int = 3
    waiting_per_token: int = 64
    # One warehouse query: seconds before it is interrupted, and its result's rows and bytes.
    statement_timeout_seconds: float = 60.0
    max_result_rows: int = 1_000_000
    max_result_bytes: int = 128 * MIB
    # Flight: seconds an unfetched result is kept, and the bytes all of them may hold.
    pending_result_seconds: float = 300.0
    pending_result_bytes: int = 512 * MIB

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"{setting_name(field.name)} must be positive")
        if self.running_per_token >= self.query_workers and self.query_workers > 1:
            raise ValueError(
                f"{setting_name('running_per_token')} must be below"
                f" {setting_name('query_workers')}, so that one token cannot hold every worker"
            )
        if self.pending_result_bytes < self.max_result_bytes:
            raise ValueError(
                f"{setting_name('pending_result_bytes')} must be at least"
                f" {setting_name('max_result_bytes')}: it must hold one result"
            )

    @property
    def query_bounds(self) -> QueryBounds:
        return QueryBounds(
            timeout_seconds=self.statement_timeout_seconds,
            max_rows=self.max_result_rows,
            max_bytes=self.max_result_bytes,
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """The limits set by `SAAS_KPIS_SL_<FIELD NAME IN CAPITALS>` variables; defaults else."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = setting_name(field.name)
            text = environ.get(name, "").strip()
            if not text:
                continue
            convert = float if field.type in ("float", float) else int
            try:
                values[field.name] = convert(text)
            except ValueError:
                raise ValueError(f"{name} must be a number, not {text!r}") from None
        return cls(**values)


def setting_name(field_name: str) -> str:
    return f"SAAS_KPIS_SL_{field_name.upper()}"


def check_count(items: tuple[Any, ...] | list[Any], limit: int, what: str) -> None:
    if len(items) > limit:
        raise LimitError(f"a query may have at most {limit} {what}; this one has {len(items)}")


def check_filters(filters: list[str] | tuple[str, ...], limits: Limits) -> None:
    """The number and length of where filters, checked before any is parsed."""
    check_count(filters, limits.max_filters, "where filters")
    for text in filters:
        if len(text) > limits.max_filter_chars:
            raise LimitError(
                f"a where filter may be at most {limits.max_filter_chars:,} characters;"
                f" one has {len(text):,}"
            )


def check_request(request: QueryRequest, limits: Limits) -> None:
    """A query's size against the limits, before MetricFlow sees it."""
    check_count(request.metrics, limits.max_metrics, "metrics")
    check_count(request.group_by, limits.max_group_by, "group-by items")
    check_count(request.order_by, limits.max_order_by, "order-by items")
    check_filters(request.where, limits)
