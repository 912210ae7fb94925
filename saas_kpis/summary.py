"""Print a short KPI summary of the built warehouse (the end of `make build`).

Every number is a metric of the semantic layer (MRR, ARR, paying accounts, ARPA), asked on the
dbt profile target the build wrote, so the summary shows what any client of the layer sees.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import QueryRequest, SemanticLayer

MONTH = "metric_time__month"
PARTIAL = "account_month__is_partial_month"
TIER = "account_month__plan_tier"


def money(value: object) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT)
    args = parser.parse_args(argv)
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR", args.project_dir / "profiles"))
    layer = SemanticLayer.open_dbt_project(args.project_dir, profiles_dir)
    try:
        months = layer.query(
            QueryRequest(
                metrics=("mrr", "arr", "paying_accounts", "arpa"),
                group_by=(MONTH, PARTIAL),
                order_by=(f"-{MONTH}",),
                limit=3,
            )
        ).to_pylist()
        if not months:
            print("No account-months built: is there any account known as of as_of_date?")
            return
        print("\nKPI summary (USD at budget rates)")
        print(f"{'month':<10} {'MRR':>14} {'ARR':>16} {'paying':>7} {'ARPA':>10}")
        for row in months:
            label = f"{row[MONTH]:%Y-%m}" + ("*" if row[PARTIAL] else "")
            print(
                f"{label:<10} {money(row['mrr']):>14} {money(row['arr']):>16} "
                f"{row['paying_accounts'] or 0:>7} {money(row['arpa']):>10}"
            )
        latest_complete = next((row[MONTH] for row in months if not row[PARTIAL]), None)
        if latest_complete is not None:
            print(f"\nMRR by plan tier, {latest_complete:%Y-%m}:")
            by_tier = layer.query(
                QueryRequest(
                    metrics=("mrr",),
                    group_by=(TIER,),
                    where=(
                        "{{ TimeDimension('metric_time', 'month') }} = "
                        f"'{latest_complete:%Y-%m-%d}'",
                    ),
                    order_by=("-mrr",),
                )
            )
            for row in by_tier.to_pylist():
                print(f"  {row[TIER]:<11} {money(row['mrr']):>14}")
        print("\n* month containing as_of_date (partial period)")
    finally:
        layer.close()


if __name__ == "__main__":
    main()
