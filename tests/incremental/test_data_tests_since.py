"""Var data_tests_since: a daily run tests only the recent rows of the event
tables; without the var every row is tested.

On one throw-away copy of the project, a row of events_tracks gets an unknown
event_name, either long before the window or inside it; the seed, the
staging model and its tests are built in process (see seed_files).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner
from seed_files import (
    Rows,
    corrupted,
    dbt_environment,
    failed_tests,
    read_rows,
    seed_path,
    set_value,
)

from saas_kpis.project import copy_project, dbt

SEED = "events_tracks"
SELECTOR = f"{SEED}+1"  # the seed, stg_events__tracks and their tests
FAILING_TEST = "events_tracks__event_name__must_be_a_known_event"
# Events for which no other rule ties event_name to another column.
PLAIN_EVENTS = {"page_viewed", "logged_in", "project_created", "report_exported", "invite_sent"}


def received_date(row: dict) -> dt.date:
    return dt.date.fromisoformat(row["received_at"][:10])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The copy, with the parents of the relationship tests of stg_events__tracks."""
    project_dir = copy_project(tmp_path_factory.mktemp("data_tests_since"))
    parents = ["+stg_billing__accounts", "+stg_events__users", "+stg_events__features"]
    dbt(project_dir, "build", "--select", *parents, "--exclude", "resource_type:test")
    with dbt_environment(project_dir):
        yield project_dir


@pytest.fixture(scope="module")
def since(project: Path) -> dt.date:
    """A week before the last delivery of the seed."""
    _, rows = read_rows(seed_path(project, SEED))
    return max(received_date(row) for row in rows) - dt.timedelta(days=7)


def unknown_event_where(project: Path, kept: Callable[[dt.date], bool]) -> Callable[[Rows], Rows]:
    """Set an unknown event_name on the first plain event, delivered once, whose
    received date passes kept."""
    _, rows = read_rows(seed_path(project, SEED))
    deliveries: dict[str, int] = {}
    for row in rows:
        deliveries[row["event_id"]] = deliveries.get(row["event_id"], 0) + 1

    def where(row: dict) -> bool:
        return (
            row["event_name"] in PLAIN_EVENTS
            and deliveries[row["event_id"]] == 1
            and kept(received_date(row))
        )

    return set_value("event_name", "clicked", where=where)


def test_every_row_is_tested_without_the_var(project: Path, since: dt.date) -> None:
    old_row = unknown_event_where(project, lambda day: day < since - dt.timedelta(days=30))
    with corrupted(project, SEED, old_row):
        success, failed = failed_tests(project, SELECTOR)
    assert not success
    assert FAILING_TEST in failed, f"{FAILING_TEST} not among failures {failed}"


def test_a_bad_row_before_the_window_is_not_tested(project: Path, since: dt.date) -> None:
    old_row = unknown_event_where(project, lambda day: day < since - dt.timedelta(days=30))
    with corrupted(project, SEED, old_row):
        success, failed = failed_tests(
            project, SELECTOR, dbt_vars={"data_tests_since": since.isoformat()}
        )
    assert success and not failed, failed


def test_a_bad_row_inside_the_window_fails(project: Path, since: dt.date) -> None:
    new_row = unknown_event_where(project, lambda day: day >= since)
    with corrupted(project, SEED, new_row):
        success, failed = failed_tests(
            project, SELECTOR, dbt_vars={"data_tests_since": since.isoformat()}
        )
    assert not success
    assert failed == {FAILING_TEST}, failed


@pytest.mark.parametrize("value", ["yesterday", "2026-6-1", "2026-02-30", "2026-06-27 10:00"])
def test_a_malformed_var_is_a_compiler_error_naming_it(project: Path, value: str) -> None:
    result = dbtRunner().invoke(
        [
            "compile",
            "--select",
            FAILING_TEST,
            "--vars",
            json.dumps({"data_tests_since": value}),
            "--project-dir",
            str(project),
        ]
    )
    assert not result.success
    message = str(result.exception)
    assert "Compilation Error" in message, message
    assert f"var data_tests_since must be an ISO date (YYYY-MM-DD), got '{value}'" in message
