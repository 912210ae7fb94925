"""Order-independent checksums of a warehouse's relations, and their comparison.

The benchmark checks that the bare replay of a build (``saas_kpis.bench.replay``) made the same
relations as dbt: the same columns, row counts and content. Each relation is summed up in
DuckDB, so that no row leaves the database:

- ``exact_hash``: the sum of a hash of each row's non-floating columns, exact;
- ``rounded_hash``: the sum of a hash of each whole row, floating values rounded to
  ``SIGNIFICANT_DIGITS`` significant digits;
- only where the rounded hashes of the two relations differ (``compare``), per bucket of rows
  (drawn from the hash of a row's non-floating columns, ``BUCKETS`` of them) and per floating
  column: the count of values, and the (Kahan) sum of each value times a weight also drawn
  from that hash, with the sum of their absolute values.

Two builds that run the same SQL can differ in the last bits of a floating sum (DuckDB adds
in parallel, in no fixed order), and such a value can round either way. So two relations are
equal when the columns, the row counts and the exact hash are equal and either the rounded
hash is equal or, in every bucket, every floating column has as many values and a weighted sum
within ``FLOAT_TOLERANCE`` of the other's, relative to the bucket's absolute sum. A value that
changed, or moved to another row, changes its bucket's sum; only a change below the tolerance
of its bucket's values goes unseen (a bucket holds about one row in 4,096 of the relation).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

SIGNIFICANT_DIGITS = 10
FLOAT_TOLERANCE = 1e-9
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
BUCKETS = 4096
# Weights 1..WEIGHT_MODULUS tie a floating value to its row within its bucket.
WEIGHT_MODULUS = 1021

# Per bucket: per floating column (count, weighted sum, absolute weighted sum).
Buckets = dict[int, tuple[tuple[int, float, float], ...]]


@dataclass(frozen=True)
class Checksum:
    """One relation summed up: see the module docstring."""

    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type), in order
    rows: int
    exact_hash: int
    rounded_hash: int
    float_buckets: Buckets | None  # None: not computed (see `compare`)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def relation_sql(name: str) -> str:
    """A `schema.relation` name, quoted."""
    schema, relation = name.split(".", 1)
    return f"{quoted(schema)}.{quoted(relation)}"


def rounded(column: str) -> str:
    """SQL: a floating column rounded to SIGNIFICANT_DIGITS digits (zero, NULL, NaN and the
    infinities kept as they are, -0 made 0)."""
    digits = SIGNIFICANT_DIGITS - 1
    return (
        f"case when {column} = 0 then 0.0 when not isfinite({column}) then {column} "
        f"else round({column}, {digits} - cast(floor(log10(abs({column}))) as integer)) end"
    )


def row_hash(columns: tuple[tuple[str, str], ...]) -> str:
    """SQL: the hash of a row's non-floating columns (0 without any)."""
    exact = [quoted(name) for name, kind in columns if kind not in FLOAT_TYPES]
    return f"hash({', '.join(exact)})" if exact else "cast(0 as ubigint)"


def checksum_sql(relation: str, columns: tuple[tuple[str, str], ...]) -> str:
    """The query that sums up a relation: rows, exact hash, rounded hash."""
    all_rounded = [
        rounded(quoted(name)) if kind in FLOAT_TYPES else quoted(name) for name, kind in columns
    ]
    return (
        f"select count(*), coalesce(sum({row_hash(columns)}), 0), "
        f"coalesce(sum(hash({', '.join(all_rounded)})), 0) from {relation}"
    )


def buckets_sql(relation: str, columns: tuple[tuple[str, str], ...]) -> str:
    """The query of the floating columns' sums per bucket of rows."""
    weight = f"cast({row_hash(columns)} // {BUCKETS} % {WEIGHT_MODULUS} + 1 as double)"
    sums = []
    for column in (quoted(name) for name, kind in columns if kind in FLOAT_TYPES):
        finite = f"case when isfinite({column}) then {column} * {weight} end"
        sums += [
            f"count({column})",
            f"coalesce(fsum({finite}), 0)",
            f"coalesce(fsum(abs({finite})), 0)",
        ]
    return (
        f"select {row_hash(columns)} % {BUCKETS} as bucket, {', '.join(sums)} "
        f"from {relation} group by bucket"
    )


def relation_columns(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every table and view of the file (not DuckDB's own, not temporary): its columns."""
    rows = con.execute(
        """
        select c.schema_name, c.table_name, c.column_name, c.data_type
        from duckdb_columns() as c
        where not c.internal
            and c.database_name = current_database()
            and c.schema_name not in ('information_schema', 'pg_catalog')
        order by c.schema_name, c.table_name, c.column_index
        """
    ).fetchall()
    relations: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, kind in rows:
        relations.setdefault(f"{schema}.{table}", []).append((column, kind))
    return {name: tuple(columns) for name, columns in relations.items()}


def checksums(database: Path, settings: dict[str, str] | None = None) -> dict[str, Checksum]:
    """The checksum of every relation of a DuckDB file (without the floating sums per bucket),
    opened read-only on its own: its views name its catalog, so the file is not attached next
    to another of the same name."""
    result = {}
    with duckdb.connect(str(database), read_only=True, config=settings or {}) as con:
        for name, columns in relation_columns(con).items():
            row = con.execute(checksum_sql(relation_sql(name), columns)).fetchone()
            assert row is not None
            result[name] = Checksum(columns, int(row[0]), int(row[1]), int(row[2]), None)
    return result


def with_buckets(
    database: Path, sums: dict[str, Checksum], names: Collection[str], settings: dict[str, str]
) -> dict[str, Checksum]:
    """`sums` with the floating sums per bucket of the relations `names` computed."""
    result = dict(sums)
    with duckdb.connect(str(database), read_only=True, config=settings) as con:
        for name in names:
            buckets: Buckets = {}
            query = buckets_sql(relation_sql(name), sums[name].columns)
            for bucket, *values in con.execute(query).fetchall():
                buckets[int(bucket)] = tuple(
                    (int(values[i]), float(values[i + 1]), float(values[i + 2]))
                    for i in range(0, len(values), 3)
                )
            result[name] = replace(sums[name], float_buckets=buckets)
    return result


def compare(
    expected_db: Path, actual_db: Path, settings: dict[str, str] | None = None
) -> tuple[dict[str, Checksum], dict[str, Checksum]]:
    """The checksums of two files' relations: the hashes of all; then, for the relations whose
    columns, rows and exact hashes are equal but rounded hashes differ, the floating sums per
    bucket."""
    expected, actual = checksums(expected_db, settings), checksums(actual_db, settings)
    noisy = [
        name
        for name in floats_within_tolerance(expected, actual)
        if (expected[name].columns, expected[name].rows, expected[name].exact_hash)
        == (actual[name].columns, actual[name].rows, actual[name].exact_hash)
    ]
    if noisy:
        expected = with_buckets(expected_db, expected, noisy, settings or {})
        actual = with_buckets(actual_db, actual, noisy, settings or {})
    return expected, actual


def floats_close(left: Checksum, right: Checksum) -> list[str]:
    """The floating columns that differ in some bucket: in their count of values, or in their
    weighted sum by more than the tolerance (all of them when the buckets are not computed)."""
    names = [name for name, kind in left.columns if kind in FLOAT_TYPES]
    if left.float_buckets is None or right.float_buckets is None:
        return names or ["(no floating column)"]
    empty = tuple((0, 0.0, 0.0) for _ in names)
    far: set[str] = set()
    for bucket in set(left.float_buckets) | set(right.float_buckets):
        pairs = zip(
            left.float_buckets.get(bucket, empty),
            right.float_buckets.get(bucket, empty),
            strict=True,
        )
        for name, ((count_a, sum_a, scale_a), (count_b, sum_b, scale_b)) in zip(
            names, pairs, strict=True
        ):
            if count_a != count_b or abs(sum_a - sum_b) > FLOAT_TOLERANCE * max(scale_a, scale_b):
                far.add(name)
    return [name for name in names if name in far]


def differences(expected: dict[str, Checksum], actual: dict[str, Checksum]) -> list[str]:
    """What differs between two warehouses' checksums, one line per relation; empty if equal."""
    found = []
    for name in sorted(set(expected) | set(actual)):
        left, right = expected.get(name), actual.get(name)
        if left is None or right is None:
            found.append(f"{name}: only in {'the replay' if left is None else 'dbt'}'s warehouse")
        elif left.columns != right.columns:
            found.append(f"{name}: columns differ: {left.columns} != {right.columns}")
        elif left.rows != right.rows:
            found.append(f"{name}: {left.rows} rows != {right.rows} rows")
        elif left.exact_hash != right.exact_hash:
            found.append(f"{name}: the rows differ (non-floating columns)")
        elif left.rounded_hash != right.rounded_hash and (far := floats_close(left, right)):
            found.append(f"{name}: floating values differ in {', '.join(far)}")
    return found


def floats_within_tolerance(
    expected: dict[str, Checksum], actual: dict[str, Checksum]
) -> list[str]:
    """The relations whose rounded hashes differ: equal only within FLOAT_TOLERANCE, if
    `differences` finds them equal."""
    return sorted(
        name
        for name in set(expected) & set(actual)
        if expected[name].rounded_hash != actual[name].rounded_hash
    )
