"""Numbered, searchable pages of the metadata lists, for the `*Paginated` GraphQL fields.

dbt-mcp lists metrics, dimensions, entities and saved queries a page at a time (`pageNum`
counted from 1, `pageSize`) and narrows metrics by name (`search`, or `searchTerms` of which
any may match). The rules live here, apart from the transport, so that they read as plain
functions over the layer's typed metadata; a bad argument or a page past the end is a
`StatementError`, which reaches the client as a message about its request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from saas_kpis.server.statements import StatementError

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
# Large enough for every list of this project on one page, small enough that a page is cheap.
MAX_PAGE_SIZE = 500
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 50


@dataclass(frozen=True)
class PageRequest:
    """Which page of a list a client asks for, and the name filter applied before paging."""

    page_num: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    search: str | None = None
    search_terms: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        """Case-insensitive substring match on a name: `search` must match, and so must one of
        `searchTerms` when any are given (dbt-mcp sends a list when an agent asks for several)."""
        lowered = name.lower()
        if self.search and self.search.lower() not in lowered:
            return False
        return not self.search_terms or any(t.lower() in lowered for t in self.search_terms)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a filtered list, with the totals a client needs to ask for the next one."""

    page_num: int
    page_size: int
    total_items: int
    total_pages: int
    items: tuple[T, ...]


def page_request(
    page_num: int | None,
    page_size: int | None,
    search: str | None = None,
    search_terms: Sequence[str] | None = None,
) -> PageRequest:
    """The validated paging arguments; blank search strings mean no filter, as in dbt-mcp."""
    page_num = 1 if page_num is None else page_num
    page_size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if page_num < 1:
        raise StatementError(f"pageNum must be 1 or more (pages are numbered from 1): {page_num}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise StatementError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}: {page_size}")
    terms = tuple(t.strip() for t in search_terms or () if t.strip())
    if len(terms) > MAX_SEARCH_TERMS:
        raise StatementError(f"searchTerms takes at most {MAX_SEARCH_TERMS} terms")
    for text in (search or "", *terms):
        if len(text) > MAX_SEARCH_LENGTH:
            raise StatementError(f"a search term is longer than {MAX_SEARCH_LENGTH} characters")
    return PageRequest(
        page_num=page_num,
        page_size=page_size,
        search=(search or "").strip() or None,
        search_terms=terms,
    )


def paginate(items: Sequence[T], name_of: Callable[[T], str], request: PageRequest) -> Page[T]:
    """The requested page of the items whose name matches, in the order the layer lists them.

    An empty list has no pages, yet its page 1 is answered (empty) so that a first request
    never fails; any other page past the last is an error rather than a silent empty page.
    """
    matching = [item for item in items if request.matches(name_of(item))]
    total_pages = math.ceil(len(matching) / request.page_size)
    if request.page_num > max(total_pages, 1):
        raise StatementError(
            f"page {request.page_num} does not exist: {len(matching)} items make "
            f"{total_pages} page(s) of {request.page_size}"
        )
    start = (request.page_num - 1) * request.page_size
    return Page(
        page_num=request.page_num,
        page_size=request.page_size,
        total_items=len(matching),
        total_pages=total_pages,
        items=tuple(matching[start : start + request.page_size]),
    )
