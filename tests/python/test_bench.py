"""The benchmark machinery at a tiny scale: the Parquet datasets equal the CSV generator's
rows, batches keep ids and keys consistent, raw_data `parquet` (with the held-out last
day appended and an incremental run) builds the same marts as the seeds, and the SQL of a
build replayed bare makes the same relations as dbt."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from seed_files import csv_relation, parquet_relation

from saas_kpis.bench.content import compare, differences
from saas_kpis.bench.replay import (
    executed_statements,
    invocation_events,
    profile_settings,
    replay,
)
from saas_kpis.bench.runner import add_next_day, remove_next_day
from saas_kpis.generate import parquet_writer
from saas_kpis.generate.csv_writer import write_seeds
from saas_kpis.generate.events import API_REQUESTS_PER_ACCOUNT, TRACK_EVENTS_PER_ACCOUNT
from saas_kpis.generate.parquet_writer import Preset, seed_column_types, write_parquet
from saas_kpis.project import DUCKDB_FILE, copy_project, dbt

SEED = 7
SCALE = 0.1  # 40 accounts
AS_OF = date(2025, 12, 31)
TINY = Preset(SCALE, TRACK_EVENTS_PER_ACCOUNT, API_REQUESTS_PER_ACCOUNT)
EVENT_LOGS = ("events_tracks", "events_api_requests")
MARTS = ("fct_account_months", "fct_daily_user_activity", "fct_api_requests", "fct_tickets")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(CSV seed root, Parquet root) of the same tiny dataset."""
    csv_root = tmp_path_factory.mktemp("csv")
    write_seeds(csv_root, SEED, SCALE, AS_OF)
    parquet_root = tmp_path_factory.mktemp("parquet")
    write_parquet(parquet_root, SEED, TINY, AS_OF)
    return csv_root, parquet_root


def test_parquet_has_the_rows_of_the_csv_generator(tiny: tuple[Path, Path]) -> None:
    csv_root, parquet_root = tiny
    types = seed_column_types()
    assert len(types) == 13
    with duckdb.connect() as con:
        for table, columns in types.items():
            parquet = parquet_relation(parquet_root, table)
            if table in EVENT_LOGS:
                held_out = parquet_relation(parquet_root / "next_day", table)
                parquet = f"(select * from {parquet} union all select * from {held_out})"
            csv = csv_relation(csv_root, table, columns)
            rows = con.execute(f"select count(*) from {csv}").fetchone()[0]
            assert rows > 0, table
            for left, right in ((csv, parquet), (parquet, csv)):
                missing = con.execute(
                    f"select count(*) from (select * from {left} except all select * from {right})"
                ).fetchone()[0]
                assert missing == 0, f"{table}: {missing} rows differ"
            described = con.execute(f"describe select * from {parquet}").fetchall()
            assert [(r[0], r[1].lower().replace(" ", "")) for r in described] == [
                (column, kind.lower().replace(" ", "")) for column, kind in columns.items()
            ], table


def test_rows_from_the_last_day_on_are_held_out(tiny: tuple[Path, Path]) -> None:
    _, parquet_root = tiny
    day = f"timestamp '{AS_OF}'"
    with duckdb.connect() as con:
        for table, column in (
            ("events_tracks", "received_at"),
            ("events_api_requests", "occurred_at"),
        ):
            main = parquet_relation(parquet_root, table)
            held = parquet_relation(parquet_root / "next_day", table)
            assert (
                con.execute(f"select count(*) from {main} where {column} >= {day}").fetchone()[0]
                == 0
            )
            held_rows, earlier = con.execute(
                f"select count(*), count(*) filter (where {column} < {day}) from {held}"
            ).fetchone()
            assert held_rows > 0 and earlier == 0, table


def test_batches_keep_ids_unique_and_keys_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet_writer, "ROWS_PER_BATCH", 2_000)  # ~12 accounts per batch
    root = tmp_path / "batched"
    rows = write_parquet(root, SEED, Preset(SCALE, 400, 200), AS_OF)
    tracks_files = list((root / "events" / "events_tracks").glob("*.parquet"))
    assert len(tracks_files) > 3
    tracks = (
        f"(select * from {parquet_relation(root, 'events_tracks')} union all "
        f"select * from {parquet_relation(root / 'next_day', 'events_tracks')})"
    )
    api = (
        f"(select * from {parquet_relation(root, 'events_api_requests')} union all "
        f"select * from {parquet_relation(root / 'next_day', 'events_api_requests')})"
    )
    users = parquet_relation(root, "events_users")
    accounts = parquet_relation(root, "billing_accounts")
    with duckdb.connect() as con:
        n_accounts = con.execute(f"select count(*) from {accounts}").fetchone()[0]
        n, distinct, deliveries_differ = con.execute(
            f"select count(*), count(distinct event_id), "
            f"count(distinct (event_id, account_id, user_id, event_name, occurred_at)) "
            f"from {tracks}"
        ).fetchone()
        assert n == rows["events/events_tracks"]
        # about 1 % of events are delivered twice, with the same content
        assert distinct == deliveries_differ
        assert 0.97 * n < distinct < n
        # denser than the seeds: 400 session events per account instead of 125
        assert n > 400 * n_accounts
        orphans = con.execute(
            f"select count(*) from {tracks} t left join {users} u using (user_id) "
            f"where u.account_id is distinct from t.account_id"
        ).fetchone()[0]
        assert orphans == 0
        n_api, distinct_api, unknown = con.execute(
            f"select count(*), count(distinct request_id), "
            f"count(*) filter (where account_id not in (select account_id from {accounts})) "
            f"from {api}"
        ).fetchone()
        assert n_api == distinct_api > 150 * n_accounts and unknown == 0


def test_parquet_mode_builds_the_same_marts_as_the_seeds(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    csv_root, parquet_root = tiny
    select = ["--select", *(f"+{mart}" for mart in MARTS)]
    seeds_project = copy_project(tmp_path / "seeds", seeds_dir=csv_root)
    seeds_and_models = ["--resource-type", "seed", "--resource-type", "model"]
    dbt(seeds_project, "build", *select, *seeds_and_models, dbt_vars={"as_of_date": str(AS_OF)})

    parquet_project = copy_project(tmp_path / "parquet")
    parquet_vars = {"raw_data": "parquet", "raw_parquet_dir": str(parquet_root)}
    remove_next_day(parquet_root)
    dbt(
        parquet_project,
        "run",
        *select,
        dbt_vars={**parquet_vars, "as_of_date": str(AS_OF - timedelta(1))},
    )
    add_next_day(parquet_root)
    try:
        dbt(parquet_project, "run", *select, dbt_vars={**parquet_vars, "as_of_date": str(AS_OF)})
    finally:
        remove_next_day(parquet_root)
    compiled = parquet_project / "target" / "compiled" / "saas_kpis" / "models" / "staging"
    assert "read_parquet(" in (compiled / "events" / "stg_events__tracks.sql").read_text()

    with duckdb.connect() as con:
        con.execute(f"attach '{seeds_project / DUCKDB_FILE}' as seeds (read_only)")
        con.execute(f"attach '{parquet_project / DUCKDB_FILE}' as parquet (read_only)")
        for mart in MARTS:
            rows = con.execute(f"select count(*) from seeds.main.{mart}").fetchone()[0]
            assert rows > 0, mart
            for left, right in (("seeds", "parquet"), ("parquet", "seeds")):
                differ = con.execute(
                    f"select count(*) from (select * from {left}.main.{mart} "
                    f"except all select * from {right}.main.{mart})"
                ).fetchone()[0]
                assert differ == 0, f"{mart}: {differ} rows of {left} not in {right}"


def test_a_build_replayed_bare_makes_the_same_relations(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, parquet_root = tiny
    project = copy_project(tmp_path / "project")
    logs = tmp_path / "dbt-logs"
    monkeypatch.setenv("DBT_LOG_FORMAT_FILE", "json")
    monkeypatch.setenv("DBT_LOG_PATH", str(logs))
    remove_next_day(parquet_root)
    dbt_vars = {
        "raw_data": "parquet",
        "raw_parquet_dir": str(parquet_root),
        "as_of_date": "2025-12-30",
    }
    select = ["--select", "+fct_account_months", "+fct_api_requests"]
    select += ["--indirect-selection", "cautious"]  # no test of a model not built
    dbt(project, "build", *select, dbt_vars=dbt_vars, target="bench")

    statements = executed_statements(invocation_events(logs / "dbt.log"))
    assert {"dbt", "operation", "model", "test", "unit_test"} <= {s.kind for s in statements}
    database = tmp_path / "bare" / DUCKDB_FILE
    database.parent.mkdir()
    env = {"SAAS_KPIS_TARGET": "bench"}
    settings = profile_settings(project / "profiles", env)
    assert settings["memory_limit"] == "6GB"
    options = profile_settings(project / "profiles", env, "config_options")
    replay(statements, database, settings, options)

    expected, actual = compare(project / DUCKDB_FILE, database)
    assert {"main.fct_account_months", "main.fct_api_requests"} <= set(expected)
    assert expected["main.fct_api_requests"].rows > 0
    assert differences(expected, actual) == []

    with duckdb.connect(str(database)) as con:
        con.execute(
            "update main.fct_account_months set mrr_usd = mrr_usd + 0.01 where account_month_id "
            "= (select min(account_month_id) from main.fct_account_months where mrr_usd > 0)"
        )
    expected, actual = compare(project / DUCKDB_FILE, database)
    assert differences(expected, actual) == [
        "main.fct_account_months: floating values differ in mrr_usd"
    ]
