"""The primary key of a dbt model, read from its uniqueness tests in dbt's manifest: the parity
and incremental suites compare models row by row on it."""

from __future__ import annotations

from typing import Any


def primary_key(nodes: dict[str, Any], model_id: str) -> tuple[str, ...]:
    """The model's key from its uniqueness tests: a unique column, else a unique combination."""
    unique_columns, combinations = [], []
    for node in nodes.values():
        test = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or node.get("attached_node") != model_id:
            continue
        if test.get("name") == "unique":
            unique_columns.append((node["column_name"],))
        elif test.get("name") == "unique_combination_of_columns":
            combinations.append(tuple(test["kwargs"]["combination_of_columns"]))
    keys = sorted(unique_columns) + sorted(combinations)
    assert keys, f"{model_id} has no uniqueness test to take its primary key from"
    return keys[0]
