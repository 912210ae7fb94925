"""Print a short KPI summary of the built warehouse (the end of `make build`)."""

from __future__ import annotations

import argparse
import os

import duckdb

from saas_kpis.project import DUCKDB_FILE, REPO_ROOT

LATEST_MONTHS_SQL = """
select
    month_start_date,
    bool_or(is_partial_month) as is_partial_month,
    sum(mrr_usd) as mrr_usd,
    sum(case when is_paying then 1 else 0 end) as paying_accounts,
    sum(seats) as seats
from main.fct_account_months
group by month_start_date
order by month_start_date desc
limit 3
"""

MRR_BY_TIER_SQL = """
select plan_tier, sum(mrr_usd) as mrr_usd
from main.fct_account_months
where month_start_date = ?
group by plan_tier
order by mrr_usd desc
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--duckdb",
        default=os.environ.get("SAAS_KPIS_DUCKDB_PATH", str(REPO_ROOT / DUCKDB_FILE)),
        help="DuckDB file built by dbt (default: $SAAS_KPIS_DUCKDB_PATH or ./saas_kpis.duckdb)",
    )
    args = parser.parse_args(argv)
    with duckdb.connect(args.duckdb, read_only=True) as connection:
        months = connection.execute(LATEST_MONTHS_SQL).fetchall()
        if not months:
            print("No account-months built: is there any account known as of as_of_date?")
            return
        print("\nKPI summary (USD at budget rates)")
        print(f"{'month':<10} {'MRR':>14} {'ARR':>16} {'paying':>7} {'ARPA':>10} {'seats':>7}")
        for month, is_partial, mrr, paying, seats in months:
            arpa = f"{mrr / paying:,.2f}" if paying else "n/a"
            label = f"{month:%Y-%m}" + ("*" if is_partial else "")
            print(f"{label:<10} {mrr:>14,.2f} {12 * mrr:>16,.2f} {paying:>7} {arpa:>10} {seats:>7}")
        latest_complete = next((month for month, partial, *_ in months if not partial), None)
        if latest_complete is not None:
            print(f"\nMRR by plan tier, {latest_complete:%Y-%m}:")
            for tier, mrr in connection.execute(MRR_BY_TIER_SQL, [latest_complete]).fetchall():
                print(f"  {tier:<11} {mrr:>14,.2f}")
        print("\n* month containing as_of_date (partial period)")


if __name__ == "__main__":
    main()
