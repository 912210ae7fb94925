"""The Flight SQL catalog a schema browser reads, through the real ADBC driver and pyarrow.flight.

Uses the session's served build (conftest `served`, shared with test_sl_server). A listed table
is compared with the server's own `semantic_layer` statement for the same thing, which
test_sl_server compares with `mf query`, so these tests hold on whichever build is served.
"""

from __future__ import annotations

import json
import math
import tomllib
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from sl_server_process import ENVIRONMENT_ID, FLIGHT_PORT, HOST, TOKEN, Served, adbc_connection

# isort: split
import adbc_driver_flightsql.dbapi as flightsql

from saas_kpis.project import REPO_ROOT
from saas_kpis.server.flight_catalog import like
from saas_kpis.server.flight_sql_protocol import SQL, pack

# The GetSqlInfo result schema as FlightSql.proto writes it.
SQL_INFO_SCHEMA = pa.schema(
    [
        pa.field("info_name", pa.uint32(), nullable=False),
        pa.field(
            "value",
            pa.dense_union(
                [
                    pa.field("string_value", pa.string()),
                    pa.field("bool_value", pa.bool_()),
                    pa.field("bigint_value", pa.int64()),
                    pa.field("int32_bitmask", pa.int32()),
                    pa.field("string_list", pa.list_(pa.string())),
                    pa.field("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
                ],
                type_codes=[0, 1, 2, 3, 4, 5],
            ),
            nullable=False,
        ),
    ]
)


def saved_query_names(served: Served) -> list[str]:
    manifest = json.loads((served.project_dir / "target" / "semantic_manifest.json").read_text())
    return sorted(saved["name"] for saved in manifest["saved_queries"])


def fetch(cursor: Any, statement: str) -> pa.Table:
    cursor.execute(statement)
    return cursor.fetch_arrow_table()


def rows(table: pa.Table) -> list[tuple]:
    """Rows in one order: a saved query without order_by has none of its own."""
    return sorted(tuple(row.values()) for row in table.to_pylist())


def assert_same_rows(got: pa.Table, want: pa.Table, what: str) -> None:
    """Equal rows, floats to the last bits (DuckDB's parallel sums vary in the last one)."""
    got_rows, want_rows = rows(got), rows(want)
    assert len(got_rows) == len(want_rows), what
    for got_row, want_row in zip(got_rows, want_rows, strict=True):
        for left, right in zip(got_row, want_row, strict=True):
            if isinstance(left, float) and isinstance(right, float):
                assert math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-9), (what, got_row)
            else:
                assert left == right, (what, got_row, want_row)


def test_adbc_get_objects_lists_the_catalog(served: Served) -> None:
    names = saved_query_names(served)
    with adbc_connection() as connection, connection.cursor() as cursor:
        objects = connection.adbc_get_objects().read_all().to_pylist()
        columns = [c.name for c in fetch(cursor, f"select * from saved_queries.{names[0]}").schema]
    assert [catalog["catalog_name"] for catalog in objects] == ["semantic_layer"]
    schemas = {s["db_schema_name"]: s["db_schema_tables"] for s in objects[0]["catalog_db_schemas"]}
    assert sorted(schemas) == ["metadata", "saved_queries"]
    assert [(t["table_name"], t["table_type"]) for t in schemas["metadata"]] == [
        ("dimensions", "VIEW"),
        ("metrics", "VIEW"),
        ("saved_queries", "VIEW"),
    ]
    assert [t["table_name"] for t in schemas["saved_queries"]] == names
    assert {t["table_type"] for t in schemas["saved_queries"]} == {"TABLE"}
    first = schemas["saved_queries"][0]
    assert [c["column_name"] for c in first["table_columns"]] == columns
    assert [c["ordinal_position"] for c in first["table_columns"]] == list(
        range(1, len(columns) + 1)
    )


def test_every_saved_query_table_has_the_schema_and_rows_of_the_saved_query(
    served: Served,
) -> None:
    with adbc_connection() as connection, connection.cursor() as cursor:
        for name in saved_query_names(served):
            schema = connection.adbc_get_table_schema(
                name, catalog_filter="semantic_layer", db_schema_filter="saved_queries"
            )
            table = fetch(cursor, f"select * from semantic_layer.saved_queries.{name}")
            expected = fetch(cursor, f"{{{{ semantic_layer.query(saved_query='{name}') }}}}")
            assert schema.equals(table.schema, check_metadata=False), name
            assert table.schema == expected.schema, name
            assert table.num_rows > 0, name
            assert_same_rows(table, expected, name)


def test_the_names_a_schema_browser_writes_select_the_table(served: Served) -> None:
    name = saved_query_names(served)[0]
    with adbc_connection() as connection, connection.cursor() as cursor:
        expected = fetch(cursor, f"{{{{ semantic_layer.query(saved_query='{name}') }}}}")
        for statement in (
            f'SELECT * FROM "semantic_layer"."saved_queries"."{name}"',
            f'select * from "saved_queries" . "{name}";',
            f"select * from {name.upper()}",
        ):
            assert_same_rows(fetch(cursor, statement), expected, statement)
        assert fetch(cursor, f"select * from saved_queries.{name} limit 2").num_rows == 2
        metrics = fetch(cursor, "select * from metadata.metrics")
        assert metrics == fetch(cursor, "{{ semantic_layer.metrics() }}")
        dimensions = fetch(cursor, "select * from metadata.dimensions")
    assert dimensions.schema.field("label").type == pa.string()
    assert {"account_month__plan_tier", "metric_time"} <= set(
        dimensions.column("qualified_name").to_pylist()
    )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("select * from no_such_table", "unknown table"),
        ('select * from "EXECUTIVE_ARR"', "unknown table"),
        ("select * from other_catalog.saved_queries.executive_arr", "unknown table"),
        ("select name from metadata.metrics", "expected a {{"),
        ("select * from metadata.metrics where 1 = 1", "expected a {{"),
        ("select * from metadata.metrics; drop table x", "expected a {{"),
        ("select * from metadata.metrics, metadata.dimensions", "expected a {{"),
        ("select * from read_csv('/etc/passwd')", "expected a {{"),
    ],
)
def test_other_statements_are_refused(served: Served, statement: str, expected: str) -> None:
    with (
        adbc_connection() as connection,
        connection.cursor() as cursor,
        pytest.raises(flightsql.ProgrammingError) as raised,
    ):
        fetch(cursor, statement)
    assert "INVALID_ARGUMENT" in str(raised.value)
    assert expected in str(raised.value)


def test_table_types_and_info(served: Served) -> None:
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    with adbc_connection() as connection:
        types = connection.adbc_get_table_types()
        info = connection.adbc_get_info()
        handle = connection.adbc_connection.get_info([3, 4])  # vendor SQL, vendor Substrait
        sql_support = pa.RecordBatchReader._import_from_c(handle.address).read_all()
    assert types == ["TABLE", "VIEW"]
    assert info["vendor_name"] == "saas_kpis semantic layer"
    assert info["vendor_version"] == version
    assert info["vendor_arrow_version"] == pa.__version__
    assert sql_support.to_pylist() == [
        {"info_name": 3, "info_value": True},
        {"info_name": 4, "info_value": False},
    ]


def test_filters_narrow_schemas_and_tables(served: Served) -> None:
    names = saved_query_names(served)
    with adbc_connection() as connection:

        def tables(**filters: Any) -> list[tuple[str, str]]:
            objects = connection.adbc_get_objects(depth="tables", **filters).read_all()
            return [
                (schema["db_schema_name"], table["table_name"])
                for catalog in objects.to_pylist()
                for schema in catalog["catalog_db_schemas"]
                for table in schema["db_schema_tables"]
            ]

        assert {s for s, _ in tables(db_schema_filter="saved\\_querie_")} == {"saved_queries"}
        assert tables(db_schema_filter="meta%", table_name_filter="%s") == [
            ("metadata", "dimensions"),
            ("metadata", "metrics"),
            ("metadata", "saved_queries"),
        ]
        assert tables(table_name_filter="executive%") == [
            ("saved_queries", n) for n in names if n.startswith("executive")
        ]
        assert tables(catalog_filter="other") == []
        assert tables(table_types_filter=["VIEW"]) == [
            ("metadata", "dimensions"),
            ("metadata", "metrics"),
            ("metadata", "saved_queries"),
        ]


def test_like_patterns() -> None:
    assert like("exec%arr").fullmatch("executive_arr")
    assert like("executive_arr").fullmatch("executiveXarr")
    assert not like("executive\\_arr").fullmatch("executiveXarr")
    assert like("executive\\_arr").fullmatch("executive_arr")
    assert not like("exec").fullmatch("executive")
    assert like("a.b").fullmatch("a.b") and not like("a.b").fullmatch("axb")


def flight_info_rows(client: flight.FlightClient, command: Any, options: Any) -> pa.Table:
    descriptor = flight.FlightDescriptor.for_command(pack(command))
    info = client.get_flight_info(descriptor, options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.schema == info.schema
    return table


def test_get_sql_info_over_raw_flight(served: Served) -> None:
    client = flight.FlightClient(f"grpc://{HOST}:{FLIGHT_PORT}")
    options = flight.FlightCallOptions(
        headers=[
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"environmentid", str(ENVIRONMENT_ID).encode()),
        ]
    )
    everything = flight_info_rows(client, SQL["CommandGetSqlInfo"](), options)
    assert everything.schema.equals(SQL_INFO_SCHEMA)
    items = {row["info_name"]: row["value"] for row in everything.to_pylist()}
    assert items[0] == "saas_kpis semantic layer"
    assert items[3] is True  # read-only
    assert items[504] == '"'  # identifier quote character
    assert items[563] is False  # transactions
    assert items[557] == 20_000  # maximum statement length (bigint)
    asked = flight_info_rows(client, SQL["CommandGetSqlInfo"](info=[504, 3, 99_999]), options)
    assert asked.to_pylist() == [
        {"info_name": 504, "value": '"'},
        {"info_name": 3, "value": True},
    ]
    schemas = flight_info_rows(
        client, SQL["CommandGetDbSchemas"](db_schema_filter_pattern="%data"), options
    )
    assert schemas.to_pylist() == [{"catalog_name": "semantic_layer", "db_schema_name": "metadata"}]
    empty = flight_info_rows(client, SQL["CommandGetDbSchemas"](catalog=""), options)
    assert empty.num_rows == 0


def test_an_unauthenticated_catalog_request_is_refused(served: Served) -> None:
    client = flight.FlightClient(f"grpc://{HOST}:{FLIGHT_PORT}")
    descriptor = flight.FlightDescriptor.for_command(pack(SQL["CommandGetCatalogs"]()))
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.get_flight_info(descriptor)
    with adbc_connection("wrong-token") as connection, pytest.raises(flightsql.Error):
        connection.adbc_get_objects().read_all()
