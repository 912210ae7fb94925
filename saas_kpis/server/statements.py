"""Parse the Semantic Layer's Jinja-style calls and validate where filters.

Flight SQL clients send statements such as
`{{ semantic_layer.query(metrics=["mrr"], group_by=[TimeDimension("metric_time", "month")]) }}`,
optionally inside `select ... from {{ ... }} where ...`. The call is parsed with Python's `ast`
module (parsing only, nothing is ever evaluated) and accepted only if every node is on a
whitelist. Where filters may only reference dimensions, entities and metrics through
`{{ Dimension(...) }}`-style references, combined with literals, comparisons and a few scalar
functions; the SQL around the references is parsed with sqlglot and checked node by node.
"""

from __future__ import annotations

import ast
import re
import secrets
from dataclasses import dataclass, field

import sqlglot
from sqlglot import expressions as exp
from sqlglot.errors import SqlglotError

from saas_kpis.semantic import QueryRequest

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
GRAINS = ("day", "week", "month", "quarter", "year")
DATE_PARTS = ("doy", "dow", "day", "month", "quarter", "year")
MAX_STATEMENT_LENGTH = 20_000
OUTER_TABLE = "semantic_layer_result"
# sqlglot parses recursively: some 25 nested function calls exhaust Python's recursion limit.
NESTED_TOO_DEEPLY = "the {what} nests its expressions too deeply"


class StatementError(ValueError):
    """A statement or filter that is malformed or not allowed; the message says why."""


@dataclass(frozen=True)
class Call:
    """A parsed `semantic_layer.<function>(...)` call and the SQL around it."""

    function: str
    request: QueryRequest = field(default_factory=QueryRequest)
    outer_sql: str | None = None  # the statement with the call replaced by OUTER_TABLE


def check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise StatementError(f"{what} must be a name of letters, digits and underscores: {value!r}")
    return value


def check_grain(value: object) -> str:
    grain = str(value).lower() if isinstance(value, str) else ""
    if grain not in GRAINS:
        raise StatementError(f"unknown time granularity {value!r}; use one of {', '.join(GRAINS)}")
    return grain


def check_date_part(value: object) -> str:
    part = str(value).lower() if isinstance(value, str) else ""
    if part not in DATE_PARTS:
        raise StatementError(f"unknown date part {value!r}; use one of {', '.join(DATE_PARTS)}")
    return part


def group_by_name(name: str, grain: str | None = None, date_part: str | None = None) -> str:
    """MetricFlow's group-by name: `metric_time__month`, `x__extract_year`."""
    check_name(name, "group_by")
    if date_part:
        return f"{name}__extract_{check_date_part(date_part)}"
    return f"{name}__{check_grain(grain)}" if grain else name


# ---------------------------------------------------------------------------
# The Jinja-style call


def find_call(statement: str) -> tuple[int, int]:
    """Start and end offsets of the single `{{ ... }}` of a statement, skipping string literals."""
    start = statement.find("{{")
    if start < 0:
        raise StatementError("expected a {{ semantic_layer.<function>(...) }} call")
    position, quote = start + 2, ""
    while position < len(statement):
        char = statement[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif statement.startswith("}}", position):
            return start, position + 2
        position += 1
    raise StatementError("unterminated {{ ... }} call")


def literal(node: ast.AST, what: str) -> object:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        raise StatementError(f"{what} must not be negative")
    raise StatementError(f"{what} must be a literal string, number or boolean")


def string_list(node: ast.AST, what: str) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if not isinstance(node, ast.List | ast.Tuple):
        raise StatementError(f"{what} must be a list of strings")
    values = [literal(item, what) for item in node.elts]
    if not all(isinstance(value, str) for value in values):
        raise StatementError(f"{what} must be a list of strings")
    return values  # type: ignore[return-value]


@dataclass
class Reference:
    """A parsed `Dimension("x").grain("month")`-style object."""

    kind: str
    name: str
    args: list[object] = field(default_factory=list)
    keywords: dict[str, object] = field(default_factory=dict)
    methods: dict[str, object] = field(default_factory=dict)


REFERENCE_KINDS = {"Dimension", "TimeDimension", "Entity", "Metric"}
REFERENCE_METHODS = {"grain", "date_part", "descending"}


def reference(node: ast.AST) -> Reference:
    """Parse a reference constructor with an optional chain of whitelisted methods."""
    methods: dict[str, object] = {}
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in REFERENCE_METHODS
    ):
        if node.keywords or len(node.args) != 1:
            raise StatementError(f".{node.func.attr}() takes exactly one literal argument")
        methods[node.func.attr] = literal(node.args[0], f".{node.func.attr}()")
        node = node.func.value
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in REFERENCE_KINDS
    ):
        raise StatementError(
            "expected Dimension(...), TimeDimension(...), Entity(...) or Metric(...), "
            "optionally followed by .grain(), .date_part() or .descending()"
        )
    if not node.args:
        raise StatementError(f"{node.func.id}() needs a name")
    args = [literal(arg, f"{node.func.id}() argument") for arg in node.args]
    keywords: dict[str, object] = {}
    for keyword in node.keywords:
        if node.func.id == "Metric" and keyword.arg == "group_by":
            keywords["group_by"] = [
                check_name(n, "group_by") for n in string_list(keyword.value, "group_by")
            ]
        elif keyword.arg in {"grain", "date_part", "entity_path"}:
            value = keyword.value
            keywords[keyword.arg] = (
                string_list(value, keyword.arg)
                if keyword.arg == "entity_path"
                else literal(value, keyword.arg)
            )
        else:
            raise StatementError(f"{node.func.id}() does not accept the argument {keyword.arg!r}")
    name = check_name(args[0], f"{node.func.id}() name")
    return Reference(
        kind=node.func.id, name=name, args=args[1:], keywords=keywords, methods=methods
    )


def group_by_item(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return check_name(node.value, "group_by")
    ref = reference(node)
    if ref.kind == "Metric" or "descending" in ref.methods:
        raise StatementError("group_by takes Dimension, TimeDimension or Entity")
    grain = ref.args[0] if ref.args else ref.keywords.get("grain", ref.methods.get("grain"))
    date_part = ref.args[1] if len(ref.args) > 1 else ref.keywords.get("date_part")
    date_part = date_part or ref.methods.get("date_part")
    if ref.kind == "Entity" and (grain or date_part):
        raise StatementError("an Entity has no time granularity")
    return group_by_name(ref.name, grain, date_part)  # type: ignore[arg-type]


def order_by_item(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
        sign = "-" if text.startswith("-") else ""
        return sign + check_name(text.lstrip("+-"), "order_by")
    ref = reference(node)
    descending = ref.methods.get("descending", False)
    if not isinstance(descending, bool):
        raise StatementError(".descending() takes True or False")
    if ref.kind == "Metric":
        name = ref.name
    else:
        grain = ref.args[0] if ref.args else ref.methods.get("grain")
        name = group_by_name(ref.name, grain, ref.methods.get("date_part"))  # type: ignore[arg-type]
    return ("-" if descending else "") + name


CALL_ARGUMENTS = {
    "query": {"metrics", "group_by", "where", "order_by", "limit", "saved_query", "read_cache"},
    "dimension_values": {"metrics", "group_by"},
    "metrics": set(),
    "dimensions": {"metrics"},
    "entities": {"metrics"},
    "measures": {"metrics"},
    "saved_queries": set(),
}


def parse_call(expression: str) -> Call:
    """Parse the inside of `{{ ... }}`: one whitelisted semantic_layer call."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise StatementError(f"malformed call: {error.msg}") from None
    node = tree.body
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "semantic_layer"
    ):
        raise StatementError("expected semantic_layer.<function>(...)")
    function = node.func.attr
    if function not in CALL_ARGUMENTS:
        raise StatementError(
            f"unknown function semantic_layer.{function}; "
            f"use one of {', '.join(sorted(CALL_ARGUMENTS))}"
        )
    if node.args:
        raise StatementError(f"semantic_layer.{function}() takes keyword arguments only")
    values: dict[str, ast.AST] = {}
    for keyword in node.keywords:
        if keyword.arg not in CALL_ARGUMENTS[function]:
            raise StatementError(f"semantic_layer.{function}() does not accept {keyword.arg!r}")
        if keyword.arg in values:
            raise StatementError(f"{keyword.arg!r} is given twice")
        values[keyword.arg] = keyword.value
    return Call(function=function, request=build_request(function, values))


def build_request(function: str, values: dict[str, ast.AST]) -> QueryRequest:
    metrics = (
        tuple(check_name(m, "metric") for m in string_list(values["metrics"], "metrics"))
        if "metrics" in values
        else ()
    )
    if function == "dimension_values":
        node = values.get("group_by")
        items = node.elts if isinstance(node, ast.List | ast.Tuple) else [node]
        if node is None or len(items) != 1:
            raise StatementError("dimension_values() needs group_by: one dimension name")
        return QueryRequest(metrics=metrics, group_by=(group_by_item(items[0]),))
    if function != "query":
        return QueryRequest(metrics=metrics)
    group_by_node = values.get("group_by")
    if group_by_node is not None and not isinstance(group_by_node, ast.List | ast.Tuple):
        raise StatementError("group_by must be a list")
    order_by_node = values.get("order_by")
    if order_by_node is not None and not isinstance(order_by_node, ast.List | ast.Tuple):
        raise StatementError("order_by must be a list")
    limit = literal(values["limit"], "limit") if "limit" in values else None
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise StatementError("limit must be a whole number")
    if "read_cache" in values and not isinstance(literal(values["read_cache"], "read_cache"), bool):
        raise StatementError("read_cache must be True or False")
    saved_query = None
    if "saved_query" in values:
        saved_query = check_name(literal(values["saved_query"], "saved_query"), "saved_query")
        if metrics or group_by_node is not None:
            raise StatementError("saved_query cannot be combined with metrics or group_by")
    elif not metrics:
        raise StatementError("query() needs metrics or saved_query")
    return QueryRequest(
        metrics=metrics,
        group_by=tuple(
            group_by_item(item) for item in (group_by_node.elts if group_by_node else [])
        ),
        where=tuple(validate_where(w) for w in string_list(values["where"], "where"))
        if "where" in values
        else (),
        order_by=tuple(
            order_by_item(item) for item in (order_by_node.elts if order_by_node else [])
        ),
        limit=limit,  # type: ignore[arg-type]
        saved_query=saved_query,
    )


def parse_statement(statement: str) -> Call:
    """Parse a Flight SQL statement: a bare call, or `select ... from {{ call }} ...`."""
    if len(statement) > MAX_STATEMENT_LENGTH:
        raise StatementError(f"statement longer than {MAX_STATEMENT_LENGTH} characters")
    start, end = find_call(statement)
    call = parse_call(statement[start + 2 : end - 2])
    before, after = statement[:start], statement[end:]
    if not before.strip() and not after.strip().rstrip(";").strip():
        return call
    outer = validate_outer_select(f"{before}{OUTER_TABLE}{after}")
    return Call(function=call.function, request=call.request, outer_sql=outer)


# ---------------------------------------------------------------------------
# SQL around the call, and where filters

SAFE_NODES = (
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.Interval,
    exp.Var,
    exp.Lower,
    exp.Upper,
    exp.Coalesce,
    exp.Abs,
    exp.Round,
    exp.Length,
    exp.Trim,
    exp.Substring,
    exp.DPipe,
    exp.Case,
    exp.If,
    exp.Date,
    exp.CurrentDate,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.Extract,
    exp.Identifier,
)
OUTER_EXTRA_NODES = (
    exp.Select,
    exp.From,
    exp.Table,
    exp.TableAlias,
    exp.Where,
    exp.Order,
    exp.Ordered,
    exp.Limit,
    exp.Offset,
    exp.Group,
    exp.Having,
    exp.Alias,
    exp.Star,
    exp.Column,
    exp.Distinct,
    exp.Sum,
    exp.Count,
    exp.Avg,
    exp.Min,
    exp.Max,
)
DATA_TYPES = {
    "DATE",
    "TIMESTAMP",
    "INT",
    "BIGINT",
    "DOUBLE",
    "DECIMAL",
    "VARCHAR",
    "TEXT",
    "BOOLEAN",
}


def tokens_without_comments(sql: str) -> None:
    if any(marker in sql for marker in ("{%", "{#", "{{", "}}", "%}", "#}")):
        raise StatementError(
            "Jinja blocks other than one {{ Dimension(...) }} reference are not allowed"
        )
    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except SqlglotError:
        raise StatementError("malformed SQL") from None
    for token in tokens:
        if token.comments:
            raise StatementError("comments are not allowed")
        if token.token_type.name == "SEMICOLON":
            raise StatementError("only one statement is allowed")
    if "--" in sql or "/*" in sql:
        raise StatementError("comments are not allowed")


def check_nodes(tree: exp.Expression, allowed: tuple[type, ...], columns: set[str] | None) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Subquery | exp.Exists) or (
            isinstance(node, exp.Select) and node is not tree
        ):
            raise StatementError("subqueries are not allowed")
        if not isinstance(node, allowed):
            raise StatementError(f"{node.key} is not allowed here")
        if isinstance(node, exp.DataType) and node.this.name not in DATA_TYPES:
            raise StatementError(f"cast to {node.sql()} is not allowed")
        if isinstance(node, exp.In) and node.args.get("query"):
            raise StatementError("subqueries are not allowed")
        if isinstance(node, exp.Column) and columns is not None and node.name not in columns:
            raise StatementError(
                "a filter may only reference {{ Dimension(...) }}, {{ TimeDimension(...) }}, "
                "{{ Entity(...) }} or {{ Metric(...) }}, not raw columns"
            )
        if isinstance(node, exp.Table) and node.name != OUTER_TABLE:
            raise StatementError("the statement may only select from the {{ semantic_layer }} call")


def render_reference(ref: Reference) -> str:
    """Canonical Jinja text of a filter reference (what MetricFlow receives)."""
    if ref.kind == "Metric":
        group_by = ref.keywords.get("group_by", [])
        if not group_by:
            raise StatementError("Metric() in a filter needs group_by=[...]")
        return f"{{{{ Metric({ref.name!r}, group_by={list(group_by)!r}) }}}}"
    if "descending" in ref.methods or "entity_path" in ref.keywords:
        raise StatementError(f"{ref.kind}() in a filter takes a name, a grain and a date part only")
    grain = ref.args[0] if ref.args else ref.keywords.get("grain", ref.methods.get("grain"))
    date_part = ref.keywords.get("date_part", ref.methods.get("date_part"))
    if ref.kind == "Entity":
        if grain or date_part or len(ref.args) > 0:
            raise StatementError("Entity() takes only a name")
        return f"{{{{ Entity({ref.name!r}) }}}}"
    text = f"{ref.kind}({ref.name!r}"
    if ref.kind == "TimeDimension" and grain:
        text += f", {check_grain(grain)!r}"
    text += ")"
    if ref.kind == "Dimension" and grain:
        text += f".grain({check_grain(grain)!r})"
    if date_part:
        text += f".date_part({check_date_part(date_part)!r})"
    return "{{ " + text + " }}"


def validate_where(where: str) -> str:
    """Check one where filter and return it with canonical references."""
    if not isinstance(where, str) or not where.strip():
        raise StatementError("a where filter must be a non-empty string")
    if len(where) > MAX_STATEMENT_LENGTH:
        raise StatementError("where filter too long")
    marker = f"slref{secrets.token_hex(6)}"
    rendered: dict[str, str] = {}
    pieces, rest = [], where
    while "{{" in rest:
        start = rest.index("{{")
        end = rest.find("}}", start)
        if end < 0:
            raise StatementError("unterminated {{ ... }} in where filter")
        try:
            tree = ast.parse(rest[start + 2 : end].strip(), mode="eval")
        except SyntaxError:
            raise StatementError("malformed {{ ... }} reference in where filter") from None
        placeholder = f"{marker}_{len(rendered)}"
        rendered[placeholder] = render_reference(reference(tree.body))
        pieces.append(rest[:start] + f" {placeholder} ")
        rest = rest[end + 2 :]
    if not rendered:
        raise StatementError(
            "a where filter must reference a {{ Dimension(...) }}, {{ TimeDimension(...) }}, "
            "{{ Entity(...) }} or {{ Metric(...) }}"
        )
    sql = "".join(pieces) + rest
    tokens_without_comments(sql)
    try:
        trees = sqlglot.parse(f"select 1 where {sql}", read="duckdb")
    except SqlglotError:
        raise StatementError("malformed where filter") from None
    except RecursionError:
        raise StatementError(NESTED_TOO_DEEPLY.format(what="where filter")) from None
    if (
        len(trees) != 1
        or not isinstance(trees[0], exp.Select)
        or trees[0].args.get("where") is None
    ):
        raise StatementError("a where filter must be one boolean expression")
    select = trees[0]
    if set(select.args) - {"expressions", "where"} and any(
        select.args.get(key) for key in set(select.args) - {"expressions", "where"}
    ):
        raise StatementError("a where filter must be one boolean expression")
    condition = select.args["where"].this
    check_nodes(condition, (*SAFE_NODES, exp.Column), set(rendered))
    text = condition.sql(dialect="duckdb")
    for placeholder, jinja in rendered.items():
        text = re.sub(rf"\b{placeholder}\b", lambda _: jinja, text)  # noqa: B023
    return text


def validate_outer_select(sql: str) -> str:
    """Check the SQL around the call: one select that reads only the call's result."""
    tokens_without_comments(sql)
    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except SqlglotError:
        raise StatementError("malformed SQL around the {{ semantic_layer }} call") from None
    except RecursionError:
        raise StatementError(NESTED_TOO_DEEPLY.format(what="SQL around the call")) from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Select):
        raise StatementError(
            "only one select statement around the {{ semantic_layer }} call is allowed"
        )
    check_nodes(trees[0], (*SAFE_NODES, *OUTER_EXTRA_NODES), None)
    return trees[0].sql(dialect="duckdb")
