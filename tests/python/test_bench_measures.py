"""The benchmark's measures without dbt: the content checksums and their comparison, the
replay of logged statements, the phases of a dbt invocation and the scaling curve."""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

from saas_kpis.bench import curve
from saas_kpis.bench.content import (
    checksums,
    compare,
    differences,
    floats_within_tolerance,
)
from saas_kpis.bench.replay import (
    Statement,
    executed_statements,
    first_keyword,
    invocation_events,
    profile_settings,
    replay,
)
from saas_kpis.bench.timings import PHASES, invocation_phases, shared_time
from saas_kpis.project import REPO_ROOT

ROWS = [
    ("a", 1, 0.1 + 0.2, "2026-01-01"),
    ("b", 2, 1e12 / 3, "2026-01-02"),
    ("c", 3, None, "2026-01-03"),
    ("d", 4, -0.0, "2026-01-04"),
]


def warehouse(path: Path, rows: list[tuple], view: bool = True) -> Path:
    """A DuckDB file with one table of `rows` (and a view over it)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.facts (key varchar, n integer, amount double, day date)")
        con.executemany("insert into marts.facts values (?, ?, ?, ?)", rows)
        if view:
            con.execute("create view marts.big as select * from marts.facts where n > 1")
    return path


def test_equal_content_in_another_order_is_equal(tmp_path: Path) -> None:
    left, right = compare(
        warehouse(tmp_path / "left.duckdb", ROWS),
        warehouse(tmp_path / "right.duckdb", list(reversed(ROWS))),
    )
    assert set(left) == {"marts.facts", "marts.big"}
    assert left["marts.facts"].rows == 4 and left["marts.big"].rows == 3
    assert differences(left, right) == []
    assert floats_within_tolerance(left, right) == []


def test_floating_noise_is_equal_and_said_so(tmp_path: Path) -> None:
    # Two values 2 units in the last place apart, on either side of a rounding boundary at 10
    # significant digits: the rounded hashes differ, the floating sums are within tolerance.
    boundary = 0.12345678905
    below, above = math.nextafter(boundary, 0), math.nextafter(boundary, 1)
    rows = [("a", 1, below, "2026-01-01"), *ROWS[1:]]
    noisy = [("a", 1, above, "2026-01-01"), *ROWS[1:]]
    left, right = compare(
        warehouse(tmp_path / "left.duckdb", rows), warehouse(tmp_path / "right.duckdb", noisy)
    )
    assert differences(left, right) == []
    assert floats_within_tolerance(left, right) == ["marts.facts"]
    # Without the floating sums per bucket, differing rounded hashes are a difference.
    hashes_only = checksums(tmp_path / "right.duckdb")
    assert differences(left, hashes_only) == ["marts.facts: floating values differ in amount"]


def test_a_changed_value_row_or_column_is_a_difference(tmp_path: Path) -> None:
    base_db = warehouse(tmp_path / "base.duckdb", ROWS)
    cases = {
        "a float": [("a", 1, 0.3 + 1e-6, "2026-01-01"), *ROWS[1:]],
        "a key": [("z", 1, 0.1 + 0.2, "2026-01-01"), *ROWS[1:]],
        "a null": [*ROWS[:3], ("d", 4, None, "2026-01-04")],
        "floats of two rows swapped": [
            ("a", 1, ROWS[1][2], "2026-01-01"),
            ("b", 2, ROWS[0][2], "2026-01-02"),
            *ROWS[2:],
        ],
        "a row missing": ROWS[:3],
        "a row twice": [*ROWS, ROWS[0]],
    }
    for n, (case, rows) in enumerate(cases.items()):
        base, other = compare(base_db, warehouse(tmp_path / f"case{n}.duckdb", rows))
        found = differences(base, other)
        assert any(line.startswith("marts.facts:") for line in found), case


def test_a_missing_relation_or_other_columns_are_differences(tmp_path: Path) -> None:
    base = checksums(warehouse(tmp_path / "base.duckdb", ROWS))
    no_view = checksums(warehouse(tmp_path / "no_view.duckdb", ROWS, view=False))
    assert differences(base, no_view) == ["marts.big: only in dbt's warehouse"]
    assert differences(no_view, base) == ["marts.big: only in the replay's warehouse"]
    retyped = dict(base)
    facts = base["marts.facts"]
    retyped["marts.facts"] = dataclasses.replace(
        facts, columns=(*facts.columns[:1], ("n", "BIGINT"), *facts.columns[2:])
    )
    assert differences(base, retyped)[0].startswith("marts.facts: columns differ")


def event(name: str, ts: str, sql: str = "", node: str | None = None, conn: str = "master") -> dict:
    data = {"conn_name": node or conn, "sql": sql}
    if node:
        data["node_info"] = {"unique_id": node}
    return {"info": {"name": name, "ts": ts, "msg": "", "invocation_id": "b"}, "data": data}


def test_statements_are_replayed_node_by_node_in_start_order(tmp_path: Path) -> None:
    # Two threads: model.x and test.t interleave in the log; model.y starts after model.x ends.
    x, y, t = "model.p.x", "model.p.y", "test.p.t"
    events = [
        event("SQLQuery", "1", "create schema if not exists s", conn="create_s"),
        event("SQLQuery", "2", "BEGIN", x),
        event("SQLQuery", "3", "BEGIN", t),
        event("SQLQuery", "4", "/* {} */ create table s.x as select 1 as a", x),
        event("SQLQuery", "5", "select count(*) from s.x", t),
        event("SQLQuery", "6", "COMMIT", x),
        event("SQLQuery", "7", "BEGIN", y),
        event("SQLQuery", "8", "/* {} */\n  create table s.y as select a + 1 as b from s.x", y),
        event("SQLQuery", "9", "COMMIT", y),
        event("NodeFinished", "10"),
    ]
    statements = executed_statements(events)
    assert [s.group for s in statements] == ["create_s", x, x, x, t, t, y, y, y]
    assert [s.kind for s in statements] == ["dbt", *["model"] * 3, "test", "test", *["model"] * 3]
    assert first_keyword(statements[2].sql) == "create"
    assert first_keyword(statements[-2].sql) == "create"

    database = tmp_path / "bare.duckdb"
    # The test opens a transaction and never commits it: the replay rolls it back, as dbt does,
    # so that the next node's BEGIN works.
    times = replay(statements, database, {"threads": "1", "memory_limit": "1GB"})
    assert [(g.group, g.kind, g.statements) for g in times] == [
        ("create_s", "dbt", 1),
        (x, "model", 3),
        (t, "test", 2),
        (y, "model", 3),
    ]
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select b from s.y").fetchall() == [(2,)]


def test_a_failing_statement_fails_the_replay(tmp_path: Path) -> None:
    statements = [Statement("model.p.x", "model", "create table s.x as select 1")]
    with pytest.raises(duckdb.CatalogException):
        replay(statements, tmp_path / "bare.duckdb", {})


def test_invocation_events_keep_one_invocation(tmp_path: Path) -> None:
    log = tmp_path / "dbt.log"
    first = {"info": {"name": "SQLQuery", "invocation_id": "a"}}
    second = {"info": {"name": "SQLQuery", "invocation_id": "b"}}
    log.write_text("text line\n" + "\n".join(json.dumps(e) for e in (first, second, second)))
    assert invocation_events(log, "a") == [first]
    assert invocation_events(log) == [second, second]


def test_profile_settings_are_the_bench_targets() -> None:
    env = {"SAAS_KPIS_TARGET": "bench", "SAAS_KPIS_DUCKDB_MEMORY_LIMIT": "3GB"}
    assert profile_settings(REPO_ROOT / "profiles", env) == {
        "memory_limit": "3GB",
        "threads": "2",
        "preserve_insertion_order": "False",
    }
    assert profile_settings(REPO_ROOT / "profiles", {}) == {}
    # the storage format of a new file, which the bare replay's file must share
    assert profile_settings(REPO_ROOT / "profiles", env, "config_options") == {
        "storage_compatibility_version": "latest"
    }


def test_shared_time_splits_overlaps_and_counts_gaps() -> None:
    shares, idle = shared_time([(0, 4, "models"), (2, 6, "data tests"), (8, 9, "models")])
    # 0-2 models alone, 2-4 shared, 4-6 tests alone, 6-8 nothing, 8-9 models.
    assert shares == {"models": 2 + 1 + 1, "data tests": 1 + 2}
    assert idle == 2


def node(unique_id: str, start: str, end: str) -> dict:
    return {
        "unique_id": unique_id,
        "timing": [
            {"name": "compile", "started_at": start, "completed_at": start},
            {"name": "execute", "started_at": start, "completed_at": end},
        ],
    }


def test_invocation_phases_add_up_to_the_wall_time() -> None:
    t = "2026-01-01T00:00:{:02d}Z"
    run_results = {
        "metadata": {"invocation_started_at": t.format(0)},
        "results": [
            node("operation.p.p-on-run-start-0", t.format(3), t.format(4)),
            node("model.p.x", t.format(4), t.format(8)),
            node("test.p.t", t.format(6), t.format(10)),
            node("unit_test.p.x.u", t.format(11), t.format(12)),
        ],
    }
    events = [
        {"info": {"name": "PartialParsingSkipParsing", "ts": t.format(1), "msg": ""}},
        {"info": {"name": "FoundStats", "ts": t.format(2), "msg": ""}},
        {"info": {"name": "CommandCompleted", "ts": t.format(13), "msg": ""}},
    ]
    phases = invocation_phases(run_results, events, process_seconds=15.0)
    assert phases["parse_mode"] == "partial, nothing changed"
    assert phases["seconds"] == {
        "start-up and exit": 2.0,
        "parse": 2.0,
        "set-up": 1.0,
        "on-run-start": 1.0,
        "models": 3.0,  # 4-6 alone, 6-8 shared with the test
        "data tests": 3.0,
        "unit tests": 1.0,
        "other nodes": 0.0,
        "between nodes": 1.0,  # 10-11
        "finish": 1.0,
    }
    assert list(phases["seconds"]) == list(PHASES)
    assert sum(phases["seconds"].values()) == pytest.approx(15.0)


def result(scale: str, rows: int, full: float, daily: float, rss_mb: float, query: float) -> dict:
    """A benchmark result file's content, with what the curve reads."""
    return {
        "scale": scale,
        "started_utc": "2026-12-08T00:00:00+00:00",
        "settings": {"runs": 1},
        "dataset": {"rows": {"billing/billing_accounts": rows // 100, "events/x": rows}},
        "full_build": {"median_seconds": full, "peak_rss_mb": rss_mb},
        "incremental_build": {"median_seconds": daily},
        "queries": [
            {"metric": "fast", "warm_api_seconds": query / 10, "cached_api_seconds": 1e-5},
            {"metric": "slow", "warm_api_seconds": query, "cached_api_seconds": 2e-5},
        ],
        "bare_replay": {"ratio": 1.1},
    }


def test_the_curve_extrapolates_through_the_two_largest_scales(tmp_path: Path) -> None:
    # Full build 20 s + 1 s per 1,000 rows of each table (1.01 rows per event row: the
    # accounts are 1 % of them); the daily run 10 s flat; S is off the line (fixed costs).
    files = {
        "S-20261208T000000Z.json": result("S", 1_000, 25.0, 12.0, 100.0, 0.05),
        "M-20261208T000000Z.json": result("M", 10_000, 20 + 10.1, 10.0, 1024.0, 0.5),
        "M-20261201T000000Z.json": result("M", 10_000, 99.0, 99.0, 9999.0, 9.0),  # older
        "L-20261208T000000Z.json": result("L", 100_000, 20 + 101, 10.0, 4096.0, 2.0),
        "loadtest-20261209T000000Z.json": {"mix": []},
    }
    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content))
    paths = curve.newest_results(tmp_path)
    assert sorted(p.name for p in paths) == [
        "L-20261208T000000Z.json",
        "M-20261208T000000Z.json",
        "S-20261208T000000Z.json",
    ]
    points = curve.load_points(paths)
    assert [p.scale for p in points] == ["S", "M", "L"]
    assert points[-1].raw_rows == 101_000 and points[-1].accounts == 1_000
    assert points[-1].slowest_query == "slow" and points[-1].slowest_cached_seconds == 2e-5

    x = curve.extrapolate(points)
    assert x is not None and x.name == "XL" and x.rows == 1_010_000
    assert x.values["full_build_seconds"] == pytest.approx(20 + 1010)
    assert x.slopes["full_build_seconds"] == pytest.approx(1000)  # s per million rows
    assert x.intercepts["full_build_seconds"] == pytest.approx(20)
    assert x.values["daily_seconds"] == pytest.approx(10)
    assert x.values["peak_rss_gb"] == pytest.approx(4 + 10 * 3)
    assert curve.extrapolate(points[:1]) is None
    assert curve.extrapolate(points[:2]).name == "10 x M"  # type: ignore[union-attr]

    text = curve.write_curve(tmp_path)
    assert (tmp_path / "scaling.md").read_text() == text
    assert "| **XL (10 x L), extrapolated** | | 1.01M | 1030 s | 10 s |" in text
    assert "| L | 1,000 | 101k | 121.0 s | 10.0 s | 8.3 % | 4.00 GB | 2.00 s (`slow`)" in text
    plot = ET.fromstring((tmp_path / "scaling.svg").read_text())
    circles = plot.findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 4 * (3 + 1)  # per panel: three scales and XL
