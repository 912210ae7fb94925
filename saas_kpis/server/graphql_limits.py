"""Bounds on what an HTTP request may make the event loop do, checked before it does it.

GraphQL validation and execution run on the server's one event loop, so their cost must be
bounded before they start: `BodyLimit` refuses a request body past the limit while it arrives
(413, before any parsing), and `document_parser` parses a GraphQL document with a token budget
and refuses it when it selects too many fields or nests too deep, counted on the parsed
document (fragments expanded) before graphql-core validates it against the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from starlette.responses import JSONResponse

from saas_kpis.server.limits import Limits


def error_response(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message}]}, status_code=status_code)


class BodyLimit:
    """ASGI middleware: an HTTP request body larger than `max_bytes` gets 413, judged by its
    declared Content-Length or, when streamed, by the bytes received; the body is read whole
    (at most `max_bytes`) before the application sees it."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def too_large(self, scope: dict, receive: Any, send: Any) -> None:
        message = (
            f"the request body is larger than the server's limit of {self.max_bytes:,} bytes"
            " (SAAS_KPIS_SL_MAX_BODY_BYTES)"
        )
        # Close the connection: the rest of the body is not read.
        response = error_response(message, 413)
        response.headers["connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared and declared[0].isdigit() and int(declared[0]) > self.max_bytes:
            await self.too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self.too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@dataclass(frozen=True)
class DocumentSize:
    """How many fields a selection set selects (fragments expanded) and how deep it nests."""

    fields: int
    depth: int


def measure(document: DocumentNode) -> DocumentSize:
    """The size of a document's largest cost: all its operations' fields, its deepest nesting.

    Fragment spreads count the fragment's fields once per spread; each fragment is measured once
    (memoised) and a fragment that spreads itself counts as empty (validation rejects it)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    measured: dict[str, DocumentSize] = {}
    visiting: set[str] = set()

    def fragment(name: str) -> DocumentSize:
        if name in measured:
            return measured[name]
        if name in visiting or name not in fragments:
            return DocumentSize(0, 0)
        visiting.add(name)
        measured[name] = selection_set(fragments[name].selection_set)
        visiting.discard(name)
        return measured[name]

    def selection_set(node: SelectionSetNode | None) -> DocumentSize:
        fields, depth = 0, 0
        for selection in node.selections if node is not None else ():
            if isinstance(selection, FieldNode):
                inner = selection_set(selection.selection_set)
                fields += 1 + inner.fields
                depth = max(depth, 1 + inner.depth)
                continue
            if isinstance(selection, FragmentSpreadNode):
                inner = fragment(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                inner = selection_set(selection.selection_set)
            else:
                continue
            fields += inner.fields
            depth = max(depth, inner.depth)
        return DocumentSize(fields, depth)

    total = DocumentSize(0, 0)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            size = selection_set(definition.selection_set)
            total = DocumentSize(total.fields + size.fields, max(total.depth, size.depth))
    return total


def document_parser(limits: Limits) -> Callable[[Any, dict[str, Any]], DocumentNode]:
    """An ariadne `query_parser`: parse within a token budget, then refuse documents that
    select more fields or nest deeper than the limits, before any validation."""

    def parse_limited(_context: Any, data: dict[str, Any]) -> DocumentNode:
        query = data.get("query")
        if not isinstance(query, str):
            raise GraphQLError("the request needs a GraphQL document in `query`")
        try:
            document = parse(query, no_location=False, max_tokens=limits.max_graphql_tokens)
        except GraphQLError as error:
            if "more than" in error.message and "tokens" in error.message:
                raise GraphQLError(
                    f"the GraphQL document has more than {limits.max_graphql_tokens:,} tokens"
                    " (SAAS_KPIS_SL_MAX_GRAPHQL_TOKENS)"
                ) from None
            raise
        size = measure(document)
        if size.fields > limits.max_graphql_fields:
            raise GraphQLError(
                f"the GraphQL document selects {size.fields:,} fields; the server's limit is"
                f" {limits.max_graphql_fields:,} (SAAS_KPIS_SL_MAX_GRAPHQL_FIELDS)"
            )
        if size.depth > limits.max_graphql_depth:
            raise GraphQLError(
                f"the GraphQL document nests {size.depth} levels deep; the server's limit is"
                f" {limits.max_graphql_depth} (SAAS_KPIS_SL_MAX_GRAPHQL_DEPTH)"
            )
        return document

    return parse_limited
