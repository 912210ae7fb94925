"""`python -m saas_kpis.alerts`: evaluate the alert rules on the built warehouse.

Prints a table, writes a JSON report, posts to webhooks what started or stopped firing, and exits
1 when a critical alert fires (2: bad rules, 3: a message could not be delivered).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from saas_kpis.alerts import report
from saas_kpis.alerts.rules import RuleError, load_rules
from saas_kpis.alerts.runner import BAD_RULES, run
from saas_kpis.alerts.state import StateError
from saas_kpis.alerts.webhook import Delivery, url_variable
from saas_kpis.project import REPO_ROOT, project_as_of
from saas_kpis.semantic import MANIFEST_FILE, SemanticLayer


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m saas_kpis.alerts", description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT)
    parser.add_argument("--rules", type=Path, help="folder of rule files (default: alerts/)")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        help="the as_of_date the warehouse was built with (default: dbt_project.yml's)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(os.environ.get("SAAS_KPIS_ALERTS_STATE", "target/alerts/state.json")),
        help="what was sent (default: $SAAS_KPIS_ALERTS_STATE or target/alerts/state.json)",
    )
    parser.add_argument("--report", type=Path, default=Path("target/alerts/report.json"))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument(
        "--no-send", action="store_true", help="evaluate and report only: no webhook, no state"
    )
    parser.add_argument(
        "--check", action="store_true", help="only check the rules against the semantic manifest"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    project_dir = args.project_dir.resolve()
    rules_dir = args.rules or project_dir / "alerts"
    if args.check:
        layer = SemanticLayer.from_manifest(project_dir / "target" / MANIFEST_FILE)
        try:
            rules = load_rules(rules_dir, layer)
        except RuleError as error:
            print(f"Bad alert rules:\n{error}", file=sys.stderr)
            return BAD_RULES
        print(f"{len(rules)} alert rules are valid.")
        return 0
    as_of = args.as_of or project_as_of(project_dir)
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR", project_dir / "profiles"))
    layer = SemanticLayer.open_dbt_project(project_dir, profiles_dir)
    try:
        result = run(
            layer,
            rules_dir,
            as_of,
            state_path=project_dir / args.state,
            report_path=project_dir / args.report,
            environ=os.environ,
            delivery=Delivery(timeout_seconds=args.timeout, attempts=args.attempts),
            send=not args.no_send,
        )
    except (RuleError, StateError) as error:
        print(f"Bad alert rules or state, nothing evaluated:\n{error}", file=sys.stderr)
        return BAD_RULES
    finally:
        layer.close()
    print(f"Alerts as of {as_of} (latest complete periods)\n")
    print(report.table(result.evaluations))
    for item in result.sent:
        evaluation = item.notification.evaluation
        channel = evaluation.rule.channel
        if item.delivered:
            status = "sent"
        elif item.error:
            status = f"NOT sent ({item.error}); retried next run"
        else:
            status = f"not sent: set {url_variable(channel)} or SAAS_KPIS_ALERTS_WEBHOOK_URL"
        print(f"{item.notification.kind} {evaluation.key} → {channel}: {status}")
    firing = sum(evaluation.outcome.state == "firing" for evaluation in result.evaluations)
    print(f"\n{firing} firing; report: {args.report}")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
