"""Each data-quality rule fails the build with a test named after the raw table,
the column and the rule, when a copy of the shipped seeds breaks that rule; an
unreadable value stops the seed load with one line naming the file, the line,
the column, the value and the expected type; a seed file without a contract
column fails before anything runs, and one with an unexpected column warns.

The build runs in process (dbtRunner) on one throw-away copy of the project:
per case, the corrupted seed is loaded and its staging model and tests are
built; then the original file is restored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dbt.cli.main import dbtRunner
from seed_files import (
    UNREADABLE,
    Rows,
    Unreadable,
    corrupted,
    dbt_environment,
    failed_tests,
    read_rows,
    seed_path,
    set_in_row,
    set_value,
    write_rows,
)

from saas_kpis.generate.parquet_writer import seed_column_types
from saas_kpis.project import REPO_ROOT, copy_project, dbt


@dataclass(frozen=True)
class Case:
    seed: str
    corrupt: Callable[[Rows], Rows]
    failing_test: str


def duplicate_first_row(rows: Rows) -> Rows:
    return [rows[0], *rows]


def overlap_first_item(rows: Rows) -> Rows:
    """A second item of the same subscription starting on the same day."""
    clone = dict(rows[0])
    clone["subscription_item_id"] = "si_overlap_test"
    return [*rows, clone]


def is_credit_note(row: dict) -> bool:
    return row["invoice_type"] == "credit_note"


def is_feature_used(row: dict) -> bool:
    return row["event_name"] == "feature_used"


def is_onboarding(row: dict) -> bool:
    return row["event_name"] == "onboarding_step_completed"


def is_rated(row: dict) -> bool:
    return row["csat_score"] != ""


def redeliver_first_event(received_at: str = "2026-06-30 23:00:00", **changes: str):
    """The first event delivered again, later, with the changed columns."""

    def corrupt(rows: Rows) -> Rows:
        return [*rows, {**rows[0], "received_at": received_at, **changes}]

    return corrupt


def same_as(column: str, other: str):
    def corrupt(rows: Rows) -> Rows:
        rows[0][column] = rows[0][other]
        return rows

    return corrupt


CASES = [
    Case(
        "billing_accounts", set_value("account_id", ""), "billing_accounts__account_id__is_required"
    ),
    Case("billing_accounts", duplicate_first_row, "billing_accounts__account_id__is_unique"),
    Case("billing_plans", duplicate_first_row, "billing_plans__plan_id__is_unique"),
    Case(
        "billing_plans",
        set_value("plan_tier", "gold"),
        "billing_plans__plan_tier__must_be_starter_pro_or_enterprise",
    ),
    Case(
        "billing_plans",
        set_value("billing_interval", "week"),
        "billing_plans__billing_interval__must_be_month_or_year",
    ),
    Case(
        "billing_plans",
        set_value("currency", "XYZ"),
        "billing_plans__currency__must_have_an_fx_rate",
    ),
    Case("billing_fx_rates", duplicate_first_row, "billing_fx_rates__currency__is_unique"),
    Case("billing_fx_rates", set_value("usd_rate", ""), "billing_fx_rates__usd_rate__is_required"),
    Case(
        "billing_subscription_items",
        set_value("subscription_item_id", ""),
        "billing_subscription_items__subscription_item_id__is_required",
    ),
    Case(
        "billing_subscription_items",
        set_value("plan_id", "plan_unknown"),
        "billing_subscription_items__plan_id__must_exist_in_billing_plans",
    ),
    Case(
        "billing_subscription_items",
        set_value("account_id", "acc_unknown"),
        "billing_subscription_items__account_id__must_exist_in_billing_accounts",
    ),
    Case(
        "billing_subscription_items",
        same_as("valid_to", "valid_from"),
        "billing_subscription_items__valid_to__must_be_after_valid_from",
    ),
    Case(
        "billing_subscription_items",
        overlap_first_item,
        "billing_subscription_items__valid_from__must_not_overlap_within_subscription",
    ),
    Case(
        "billing_subscription_items",
        set_value("seats", "0"),
        "billing_subscription_items__seats__must_be_at_least_1",
    ),
    Case(
        "billing_subscription_items",
        set_value("discount_pct", "100.5"),
        "billing_subscription_items__discount_pct__must_be_between_0_and_100",
    ),
    Case(
        "billing_subscription_items",
        set_value("discount_pct", "-5"),
        "billing_subscription_items__discount_pct__must_be_between_0_and_100",
    ),
    Case("billing_invoices", duplicate_first_row, "billing_invoices__invoice_id__is_unique"),
    Case(
        "billing_invoices",
        set_value("account_id", "acc_unknown"),
        "billing_invoices__account_id__must_exist_in_billing_accounts",
    ),
    Case(
        "billing_invoices",
        set_value("currency", "XYZ"),
        "billing_invoices__currency__must_have_an_fx_rate",
    ),
    Case(
        "billing_invoices",
        same_as("service_period_end", "service_period_start"),
        "billing_invoices__service_period_end__must_be_after_service_period_start",
    ),
    Case(
        "billing_invoices",
        set_value("status", "pending"),
        "billing_invoices__status__must_be_paid_open_or_void",
    ),
    Case(
        "billing_invoices",
        set_value("invoice_type", "refund"),
        "billing_invoices__invoice_type__must_be_a_known_invoice_type",
    ),
    Case(
        "billing_invoices",
        set_value("amount", "10.00", where=is_credit_note),
        "billing_invoices__amount__must_be_negative_exactly_for_credit_notes",
    ),
    Case(
        "billing_revenue_targets",
        duplicate_first_row,
        "billing_revenue_targets__fiscal_year__is_unique",
    ),
    Case("events_users", duplicate_first_row, "events_users__user_id__is_unique"),
    Case(
        "events_users",
        set_value("account_id", "acc_unknown"),
        "events_users__account_id__must_exist_in_billing_accounts",
    ),
    Case("events_users", set_value("role", "owner"), "events_users__role__must_be_admin_or_member"),
    Case("events_features", duplicate_first_row, "events_features__feature_name__is_unique"),
    Case("events_tracks", set_value("event_id", ""), "events_tracks__event_id__is_required"),
    Case(
        "events_tracks",
        set_value("event_name", "clicked"),
        "events_tracks__event_name__must_be_a_known_event",
    ),
    Case(
        "events_tracks",
        set_value("user_id", "usr_unknown"),
        "events_tracks__user_id__must_exist_in_events_users",
    ),
    Case(
        "events_tracks",
        set_value("feature_name", "teleport", where=is_feature_used),
        "events_tracks__feature_name__must_exist_in_events_features",
    ),
    Case(
        "events_tracks",
        set_value("onboarding_step", "6", where=is_onboarding),
        "events_tracks__onboarding_step__must_be_between_1_and_5",
    ),
    Case(
        "events_tracks",
        redeliver_first_event(user_id="usr_000002"),
        "events_tracks__event_id__deliveries_must_agree",
    ),
    Case(
        "events_tracks",
        redeliver_first_event(occurred_at="2023-07-12 12:23:27"),
        "events_tracks__event_id__deliveries_must_agree",
    ),
    Case("events_api_requests", duplicate_first_row, "events_api_requests__request_id__is_unique"),
    Case(
        "events_api_requests",
        set_value("latency_ms", "-1"),
        "events_api_requests__latency_ms__must_not_be_negative",
    ),
    Case("support_tickets", duplicate_first_row, "support_tickets__ticket_id__is_unique"),
    Case(
        "support_tickets",
        set_value("priority", "critical"),
        "support_tickets__priority__must_be_low_normal_high_or_urgent",
    ),
    Case(
        "support_tickets",
        set_value("channel", "fax"),
        "support_tickets__channel__must_be_email_chat_or_phone",
    ),
    Case(
        "support_tickets",
        set_value("csat_score", "6", where=is_rated),
        "support_tickets__csat_score__must_be_between_1_and_5",
    ),
    Case(
        "support_nps_responses",
        set_value("score", "11"),
        "support_nps_responses__score__must_be_between_0_and_10",
    ),
    Case(
        "support_nps_responses",
        set_value("account_id", "acc_unknown"),
        "support_nps_responses__account_id__must_exist_in_billing_accounts",
    ),
    Case(
        "support_incidents",
        set_value("severity", "sev4"),
        "support_incidents__severity__must_be_sev1_sev2_or_sev3",
    ),
    Case(
        "support_incidents",
        duplicate_first_row,
        "support_incidents__incident_id__is_unique",
    ),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    project_dir = copy_project(tmp_path_factory.mktemp("bad_input"))
    dbt(project_dir, "build", "--exclude", "resource_type:test")
    with dbt_environment(project_dir):
        yield project_dir


@contextmanager
def rebuilt_afterwards(project: Path, seed: str) -> Iterator[None]:
    """Reload the seed and rebuild its children in full after the block."""
    try:
        yield
    finally:
        restored = dbtRunner().invoke(
            [
                "build",
                "--full-refresh",
                "--select",
                f"{seed}+1",
                "--resource-type",
                "seed",
                "--resource-type",
                "model",
                "--project-dir",
                str(project),
            ]
        )
        assert restored.success


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.failing_test)
def test_bad_input_fails_the_build_naming_table_column_and_rule(project: Path, case: Case) -> None:
    # Reload the seed and rebuild its staging model in full afterwards: an
    # incremental one still holds the corrupted rows.
    with rebuilt_afterwards(project, case.seed), corrupted(project, case.seed, case.corrupt):
        success, failed = failed_tests(project, f"{case.seed}+1")
    assert not success, f"build passed with corrupted {case.seed}"
    assert case.failing_test in failed, f"{case.failing_test} not among failures {failed}"


def test_shipped_seeds_break_no_rule(project: Path) -> None:
    success, failed = failed_tests(project, "resource_type:test")
    assert success and not failed, failed


# A redelivery of identical content stays green, also in a later incremental
# batch; one with other content fails, also against the row an earlier run
# kept, and within the window of a daily run (data_tests_since).
REDELIVERY = "events_tracks__event_id__deliveries_must_agree"


def incremental_build(project: Path, dbt_vars: dict | None = None) -> tuple[bool, set[str]]:
    """An incremental build of the events seed and its children: success, failed tests."""
    return failed_tests(project, "events_tracks+1", dbt_vars, full_refresh=False)


@pytest.mark.parametrize("since", [None, "2026-06-29"])
def test_identical_redelivery_in_a_later_batch_stays_green(
    project: Path, since: str | None
) -> None:
    dbt_vars = {"data_tests_since": since} if since else None
    with rebuilt_afterwards(project, "events_tracks"):
        assert incremental_build(project, dbt_vars) == (True, set())
        with corrupted(project, "events_tracks", redeliver_first_event()):
            assert incremental_build(project, dbt_vars) == (True, set())


@pytest.mark.parametrize("since", [None, "2026-06-29"])
def test_conflicting_redelivery_in_a_later_batch_fails(project: Path, since: str | None) -> None:
    dbt_vars = {"data_tests_since": since} if since else None
    with rebuilt_afterwards(project, "events_tracks"):
        assert incremental_build(project, dbt_vars) == (True, set())
        conflict = redeliver_first_event(event_name="logged_in")
        with corrupted(project, "events_tracks", conflict):
            success, failed = incremental_build(project, dbt_vars)
        assert not success
        assert failed == {REDELIVERY}


# Unreadable values: the seed load stops with one line naming the file, the
# line, the column, the value and the expected type, not an engine error
# (cases in seed_files.UNREADABLE, shared with the PostgreSQL and Spark runs).
def build_messages(project: Path, selector: str) -> tuple[bool, list[str], list[str]]:
    """Build the selection in process: success, node result messages, warnings."""
    warnings: list[str] = []

    def collect(event) -> None:
        if event.info.level == "warn":
            warnings.append(event.info.msg)

    result = dbtRunner(callbacks=[collect]).invoke(
        ["build", "--select", selector, "--project-dir", str(project)]
    )
    if result.exception is not None:
        return False, [str(result.exception)], warnings
    messages = [str(node_result.message) for node_result in result.result]
    return result.success, messages, warnings


@pytest.mark.parametrize("case", UNREADABLE, ids=lambda case: f"{case.seed}.{case.column}")
def test_unreadable_value_names_file_line_column_value_and_type(
    project: Path, case: Unreadable
) -> None:
    corrupt = set_in_row(case.row, case.column, case.value)
    with rebuilt_afterwards(project, case.seed), corrupted(project, case.seed, corrupt):
        success, messages, _ = build_messages(project, case.seed)
    assert not success
    lines = [line.strip() for message in messages for line in message.splitlines()]
    assert case.message in lines, messages
    assert not any("Conversion Error" in message for message in messages), messages


# Schema drift: a missing contract column fails before any seed or model runs;
# an unexpected column is a warning, and the build stays green.
@contextmanager
def reshaped(project: Path, seed: str, drop: str = "", add: str = "") -> Iterator[None]:
    """The seed file without column drop, or with a column add, during the block."""
    path = seed_path(project, seed)
    original = path.read_text()
    fieldnames, rows = read_rows(path)
    for row in rows:
        row.pop(drop, None)
        if add:
            row[add] = "x"
    try:
        write_rows(
            path, [name for name in fieldnames if name != drop] + ([add] if add else []), rows
        )
        yield
    finally:
        path.write_text(original)


def test_missing_column_fails_before_anything_runs(project: Path) -> None:
    started: list[str] = []

    def collect(event) -> None:
        if event.info.name == "NodeStart":
            started.append(event.data.node_info.unique_id)

    with reshaped(project, "support_incidents", drop="severity"):
        result = dbtRunner(callbacks=[collect]).invoke(
            ["build", "--select", "support_incidents+1", "--project-dir", str(project)]
        )
    assert not result.success
    expected = (
        "Missing column in raw table support_incidents "
        "(seeds/support/support_incidents.csv): severity"
    )
    assert expected in str(result.exception), result.exception
    assert not [node for node in started if not node.startswith("operation.")], started


def test_unexpected_column_warns_by_name_and_is_ignored(project: Path) -> None:
    seed = "billing_plans"
    with rebuilt_afterwards(project, seed), reshaped(project, seed, add="note"):
        success, messages, warnings = build_messages(project, "billing_plans+1")
    assert success, messages
    expected = (
        "Unexpected column in raw table billing_plans "
        "(seeds/billing/billing_plans.csv): note (not in the contract, ignored)"
    )
    assert expected in warnings, warnings


def contract_columns() -> dict[str, dict[str, str]]:
    """{table: {column: contract type}} from the sources YAML, the declared contract."""
    contract = {}
    for path in sorted((REPO_ROOT / "models" / "staging").glob("*/_*__sources.yml")):
        source = yaml.safe_load(path.read_text())["sources"][0]
        for table in source["tables"]:
            contract[table["identifier"]] = {
                column["name"]: column["data_type"] for column in table["columns"]
            }
    return contract


def test_seed_column_types_load_the_contract_columns() -> None:
    """The seeds' column_types (the loader's engine types) name the contract's columns, in
    its order, with a type of the contract's kind."""
    kinds = {"varchar": "text", "timestamp": "timestamp", "date": "date", "integer": "integer"}
    kinds |= {"boolean": "boolean", "decimal": "decimal"}
    seeds = {
        table: {column: kinds[kind.split("(")[0]] for column, kind in types.items()}
        for table, types in seed_column_types().items()
    }
    contract = contract_columns()
    assert {table: list(columns.items()) for table, columns in seeds.items()} == {
        table: list(columns.items()) for table, columns in contract.items()
    }
