"""What the server tells Flight SQL clients about itself: the `GetSqlInfo` answer.

JDBC's `DatabaseMetaData` and ADBC's `adbc_get_info` are read from here. The codes and value
kinds are the `SqlInfo` enum of the Flight SQL specification (FlightSql.proto); the subset is
what BI tools read: the server's name and versions, that it is read-only and has no transactions,
how identifiers are quoted and matched, and the small SQL the server accepts (a
`{{ semantic_layer... }}` call with an optional outer select, or `select * from <listed table>`).
The result is one row per item: `info_name: uint32 not null` and the dense union `value`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping

import pyarrow as pa

from saas_kpis.project import REPO_ROOT
from saas_kpis.server.statements import MAX_STATEMENT_LENGTH

SERVER_NAME = "saas_kpis semantic layer"


class Int64(int):
    """An item whose value kind is int64 (`bigint_value`); plain ints are `int32_bitmask`."""


# The dense union's members, in type-code order, as the specification lists them.
VALUE_TYPE = pa.dense_union(
    [
        pa.field("string_value", pa.string()),
        pa.field("bool_value", pa.bool_()),
        pa.field("bigint_value", pa.int64()),
        pa.field("int32_bitmask", pa.int32()),
        pa.field("string_list", pa.list_(pa.string())),
        pa.field("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
    ],
    type_codes=[0, 1, 2, 3, 4, 5],
)
SQL_INFO_SCHEMA = pa.schema(
    [pa.field("info_name", pa.uint32(), nullable=False), pa.field("value", VALUE_TYPE, False)]
)

SqlInfoValue = str | bool | int | tuple[str, ...] | Mapping[int, tuple[int, ...]]

# SqlSupportsConvert codes of the casts the outer select allows (see statements.DATA_TYPES).
BIGINT, BIT, DATE, DECIMAL, FLOAT, INTEGER, TIMESTAMP, VARCHAR = 0, 2, 4, 5, 6, 7, 16, 19
NUMBERS = (BIGINT, DECIMAL, FLOAT, INTEGER, VARCHAR)


def server_version() -> str:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(project["project"]["version"])


def sql_info_items() -> dict[int, SqlInfoValue]:
    """The items served, by SqlInfo code (comments give the specification's names)."""
    return {
        0: SERVER_NAME,  # FLIGHT_SQL_SERVER_NAME
        1: server_version(),  # FLIGHT_SQL_SERVER_VERSION
        2: pa.__version__,  # FLIGHT_SQL_SERVER_ARROW_VERSION
        3: True,  # FLIGHT_SQL_SERVER_READ_ONLY
        4: True,  # FLIGHT_SQL_SERVER_SQL
        5: False,  # FLIGHT_SQL_SERVER_SUBSTRAIT
        8: 0,  # FLIGHT_SQL_SERVER_TRANSACTION: SQL_SUPPORTED_TRANSACTION_NONE
        9: False,  # FLIGHT_SQL_SERVER_CANCEL
        100: 0,  # FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT: none
        101: 0,  # FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT: none
        500: False,  # SQL_DDL_CATALOG
        501: False,  # SQL_DDL_SCHEMA
        502: False,  # SQL_DDL_TABLE
        503: 1,  # SQL_IDENTIFIER_CASE: case-insensitive (bare names match ignoring case)
        504: '"',  # SQL_IDENTIFIER_QUOTE_CHAR
        506: True,  # SQL_ALL_TABLES_ARE_SELECTABLE
        507: 3,  # SQL_NULL_ORDERING: nulls sorted at the end (DuckDB's default)
        508: ("LIMIT",),  # SQL_KEYWORDS beyond SQL:2003 that the grammar uses
        509: ("ABS", "ROUND"),  # SQL_NUMERIC_FUNCTIONS of the outer select
        510: ("LENGTH", "LOWER", "SUBSTRING", "TRIM", "UPPER"),  # SQL_STRING_FUNCTIONS
        511: (),  # SQL_SYSTEM_FUNCTIONS
        512: ("CURRENT_DATE", "DATE_TRUNC", "EXTRACT"),  # SQL_DATETIME_FUNCTIONS
        513: "\\",  # SQL_SEARCH_STRING_ESCAPE in catalog name patterns
        514: "",  # SQL_EXTRA_NAME_CHARACTERS
        515: True,  # SQL_SUPPORTS_COLUMN_ALIASING
        516: True,  # SQL_NULL_PLUS_NULL_IS_NULL
        517: {  # SQL_SUPPORTS_CONVERT: the casts the outer select allows
            **{number: NUMBERS for number in NUMBERS},
            VARCHAR: (*NUMBERS, BIT, DATE, TIMESTAMP),
            DATE: (DATE, TIMESTAMP, VARCHAR),
            TIMESTAMP: (DATE, TIMESTAMP, VARCHAR),
            BIT: (BIT, VARCHAR),
        },
        520: True,  # SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY
        521: True,  # SQL_SUPPORTS_ORDER_BY_UNRELATED
        522: 0b11,  # SQL_SUPPORTED_GROUP_BY: unrelated, beyond select
        523: False,  # SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE
        524: False,  # SQL_SUPPORTS_NON_NULLABLE_COLUMNS (no DDL)
        525: 0b1,  # SQL_SUPPORTED_GRAMMAR: SQL_MINIMUM_GRAMMAR
        526: 0b1,  # SQL_ANSI92_SUPPORTED_LEVEL: ANSI92_ENTRY_SQL
        527: False,  # SQL_SUPPORTS_INTEGRITY_ENHANCEMENT_FACILITY
        528: 0,  # SQL_OUTER_JOINS_SUPPORT_LEVEL: SQL_JOINS_UNSUPPORTED
        529: "schema",  # SQL_SCHEMA_TERM
        530: "procedure",  # SQL_PROCEDURE_TERM
        531: "catalog",  # SQL_CATALOG_TERM
        532: True,  # SQL_CATALOG_AT_START
        533: 0,  # SQL_SCHEMAS_SUPPORTED_ACTIONS
        534: 0,  # SQL_CATALOGS_SUPPORTED_ACTIONS
        535: 0,  # SQL_SUPPORTED_POSITIONED_COMMANDS
        536: False,  # SQL_SELECT_FOR_UPDATE_SUPPORTED
        537: False,  # SQL_STORED_PROCEDURES_SUPPORTED
        538: 0,  # SQL_SUPPORTED_SUBQUERIES: none
        539: False,  # SQL_CORRELATED_SUBQUERIES_SUPPORTED
        540: 0,  # SQL_SUPPORTED_UNIONS: none
        557: Int64(MAX_STATEMENT_LENGTH),  # SQL_MAX_STATEMENT_LENGTH
        560: Int64(1),  # SQL_MAX_TABLES_IN_SELECT
        562: 0,  # SQL_DEFAULT_TRANSACTION_ISOLATION: SQL_TRANSACTION_NONE
        563: False,  # SQL_TRANSACTIONS_SUPPORTED
        564: 0,  # SQL_SUPPORTED_TRANSACTIONS_ISOLATION_LEVELS
        565: False,  # SQL_DATA_DEFINITION_CAUSES_TRANSACTION_COMMIT
        566: False,  # SQL_DATA_DEFINITIONS_IN_TRANSACTIONS_IGNORED
        567: 0b10,  # SQL_SUPPORTED_RESULT_SET_TYPES: forward only
        569: 0b10,  # SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_FORWARD_ONLY: read only
        572: False,  # SQL_BATCH_UPDATES_SUPPORTED
        573: False,  # SQL_SAVEPOINTS_SUPPORTED
        574: False,  # SQL_NAMED_PARAMETERS_SUPPORTED
        575: False,  # SQL_LOCATORS_UPDATE_COPY
        576: False,  # SQL_STORED_FUNCTIONS_USING_CALL_SYNTAX_SUPPORTED
    }


def _type_code(value: SqlInfoValue) -> int:
    if isinstance(value, str):
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, Int64):
        return 2
    if isinstance(value, int):
        return 3
    return 4 if isinstance(value, tuple) else 5


def sql_info_table(codes: Iterable[int]) -> pa.Table:
    """The rows of the requested items (all when none are named; unknown codes are skipped,
    as the specification lets a server answer only what it knows)."""
    items = sql_info_items()
    wanted = list(dict.fromkeys(codes)) or list(items)
    names = [code for code in wanted if code in items]
    members: list[list[SqlInfoValue]] = [[] for _ in VALUE_TYPE]
    type_codes, offsets = [], []
    for code in names:
        value = items[code]
        type_code = _type_code(value)
        type_codes.append(type_code)
        offsets.append(len(members[type_code]))
        members[type_code].append(
            list(value.items()) if isinstance(value, Mapping) else value  # type: ignore[arg-type]
        )
    children = [
        pa.array(values, type=VALUE_TYPE.field(index).type) for index, values in enumerate(members)
    ]
    value_array = pa.UnionArray.from_dense(
        pa.array(type_codes, type=pa.int8()),
        pa.array(offsets, type=pa.int32()),
        children,
        [VALUE_TYPE.field(index).name for index in range(VALUE_TYPE.num_fields)],
        list(VALUE_TYPE.type_codes),
    )
    return pa.Table.from_arrays(
        [pa.array(names, type=pa.uint32()), value_array], schema=SQL_INFO_SCHEMA
    )
