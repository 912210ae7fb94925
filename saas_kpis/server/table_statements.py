"""The one plain-SQL statement the server accepts: `select * from <a table the catalog lists>`.

Schema browsers (the Flight SQL JDBC and ADBC drivers' tools) preview a listed table with
`select * from "catalog"."schema"."table"` or a shorter form. That is all this grammar accepts:
`select * from`, one name of one to three dot-separated parts (each a name of letters, digits and
underscores, bare or in double quotes), an optional `limit <n>` and an optional `;`. It is a
regular expression rather than an SQL parser on purpose: nothing else (no column list, no where,
no join, no function) can get through, and the name is only ever looked up in the catalog's list,
never put into SQL. Everything else goes to the `{{ semantic_layer... }}` grammar of
`statements`, which refuses it with its own message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from saas_kpis.server.statements import MAX_STATEMENT_LENGTH

_PART = r'(?:"([A-Za-z_][A-Za-z0-9_]*)"|([A-Za-z_][A-Za-z0-9_]*))'
TABLE_SELECT = re.compile(
    rf"\s*select\s+\*\s+from\s+{_PART}(?:\s*\.\s*{_PART})?(?:\s*\.\s*{_PART})?"
    r"(?:\s+limit\s+([0-9]{1,9}))?\s*;?\s*\Z",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NamePart:
    """One part of a table name; a quoted part matches exactly, a bare one ignoring case."""

    text: str
    quoted: bool

    def matches(self, name: str) -> bool:
        return self.text == name if self.quoted else self.text.lower() == name.lower()


@dataclass(frozen=True)
class TableSelect:
    """`select * from <parts> [limit n]`: the name as written (one to three parts)."""

    parts: tuple[NamePart, ...]
    limit: int | None = None


def parse_table_select(statement: str) -> TableSelect | None:
    """The statement as a table select, or None when it is not one (then it is a call)."""
    if len(statement) > MAX_STATEMENT_LENGTH or "{{" in statement:
        return None
    match = TABLE_SELECT.match(statement)
    if match is None:
        return None
    groups = match.groups()
    parts = tuple(
        NamePart(text=quoted or bare, quoted=quoted is not None)
        for quoted, bare in zip(groups[0:6:2], groups[1:6:2], strict=True)
        if quoted is not None or bare is not None
    )
    limit = groups[6]
    return TableSelect(parts=parts, limit=int(limit) if limit is not None else None)
