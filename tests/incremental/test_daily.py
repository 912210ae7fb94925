"""The daily run (make daily): its dbt command and what selector `daily` builds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from saas_kpis.daily import daily_invocation, event_lookback_days
from saas_kpis.project import copy_project, dbt


def test_the_dates_go_to_the_environment_and_the_window_starts_the_lookback_before() -> None:
    daily = daily_invocation(dt.date(2026, 3, 2), {"raw_data": "warehouse"})
    assert daily.arguments == (
        "build", "--selector", "daily", "--vars", json.dumps({"raw_data": "warehouse"}),
    )  # fmt: skip
    assert event_lookback_days() == 3
    assert daily.env == {
        "SAAS_KPIS_AS_OF_DATE": "2026-03-02",
        "SAAS_KPIS_DATA_TESTS_SINCE": "2026-02-27",  # across the end of February
    }
    assert daily_invocation(dt.date(2026, 3, 2)).arguments == ("build", "--selector", "daily")


def test_a_date_in_the_environment_overrides_the_var_when_nodes_run_not_when_parsing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The daily run's dates leave partial parsing alone: a second invocation with other dates
    in the environment and the same --vars parses nothing again, and compiles with its dates."""
    project = copy_project(tmp_path_factory.mktemp("daily_env"))
    dbt(project, "parse")
    compiled = dbt(
        project,
        "compile",
        "--select",
        "int_reporting_days_spined",
        "--log-level",
        "debug",
        env={"SAAS_KPIS_AS_OF_DATE": "2025-03-04", "SAAS_KPIS_DATA_TESTS_SINCE": "2025-03-01"},
    ).stdout
    assert "Unable to do partial parsing" not in compiled
    compiled_dir = project / "target" / "compiled" / "saas_kpis" / "models" / "intermediate"
    text = (compiled_dir / "int_reporting_days_spined.sql").read_text()
    assert "2025-03-04" in text and "2026-06-30" not in text
    # the same date through --vars makes dbt parse everything again
    with_vars = dbt(
        project, "parse", "--log-level", "debug", dbt_vars={"as_of_date": "2025-03-04"}
    ).stdout
    assert "Unable to do partial parsing" in with_vars


@pytest.fixture(scope="module")
def selected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """{resource type: names} of every node, and of the daily selection (key "daily ...")."""
    project = copy_project(tmp_path_factory.mktemp("daily"))

    def nodes(*selection: str) -> list[dict]:
        listed = dbt(project, "ls", "--quiet", "--output", "json", *selection).stdout
        return [json.loads(line) for line in listed.splitlines() if line.startswith("{")]

    by_type: dict[str, set[str]] = {}
    for prefix, selection in (("", ()), ("daily ", ("--selector", "daily"))):
        for node in nodes("--resource-type", "all", *selection):
            by_type.setdefault(prefix + node["resource_type"], set()).add(node["name"])
    by_type["view"] = {
        node["name"]
        for node in nodes("--resource-type", "model")
        if node["config"]["materialized"] == "view"
    }
    by_type["code_test"] = {node["name"] for node in nodes("--select", "tag:code_test")}
    by_type["staging"] = {
        node["name"]
        for node in nodes("--resource-type", "model")
        if Path(node["original_file_path"]).parts[:2] == ("models", "staging")
    }
    return by_type


def test_the_daily_selector_builds_what_data_can_change(selected: dict[str, set[str]]) -> None:
    staging_views = selected["view"] & selected["staging"]
    assert staging_views and "stg_events__tracks" not in staging_views
    assert selected["daily model"] == selected["model"] - staging_views
    assert "int_events_known_as_of" in selected["daily model"]  # a view that reads as_of_date
    assert selected["daily seed"] == selected["seed"]
    # Every data test, the raw data's too, but not the tests of macros.
    assert {"add_days__crosses_month_leap_day_and_year_ends"} <= selected["code_test"]
    assert selected["daily test"] == selected["test"] - selected["code_test"]
    assert selected["unit_test"] and "daily unit_test" not in selected
    assert selected["saved_query"] and "daily saved_query" not in selected


def test_unit_tests_keep_their_own_dates_when_the_environment_sets_others(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A unit test that sets as_of_date in its overrides is not overridden by the daily run's
    environment variables, so a full `dbt build` with them set stays green."""
    project = copy_project(tmp_path_factory.mktemp("daily_unit_tests"))
    dbt(project, "build", "--resource-type", "seed", "--resource-type", "model")
    env = {"SAAS_KPIS_AS_OF_DATE": "2025-03-04", "SAAS_KPIS_DATA_TESTS_SINCE": "2025-03-01"}
    tested = dbt(project, "test", "--select", "test_type:unit", env=env, check=False)
    assert tested.returncode == 0, tested.stdout
    assert "fct_account_activation__within_n_days" in tested.stdout
