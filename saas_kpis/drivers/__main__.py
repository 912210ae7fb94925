"""`python -m saas_kpis.drivers explain --metric M --period P`: why did a metric move.

Also `python -m saas_kpis.drivers tree`: the driver tree, checked against the semantic manifest.
The layer is opened on the dbt profile target, as `saas_kpis.summary` does.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from saas_kpis.drivers import render
from saas_kpis.drivers.explain import GRAINS, ExplainError, explain
from saas_kpis.drivers.tree import TREE_PATH, DriverTreeError, load_tree
from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import SemanticLayer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m saas_kpis.drivers", description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("explain", help="why did a metric move between two periods")
    run.add_argument("--metric", required=True, help="public metric name, e.g. mrr")
    run.add_argument("--period", required=True, help="YYYY-MM or YYYY-MM-DD")
    run.add_argument("--base", help="the period to compare with (default: the one before)")
    run.add_argument("--grain", choices=GRAINS, help="default: month when the metric has it")
    run.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands.add_parser("tree", help="print the driver tree (checked against the metrics)")
    args = parser.parse_args(argv)
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR", args.project_dir / "profiles"))
    layer = SemanticLayer.open_dbt_project(args.project_dir, profiles_dir)
    try:
        tree = load_tree(
            {metric.name: metric.meta for metric in layer.metrics()},
            args.project_dir / TREE_PATH,
        )
        if args.command == "tree":
            print(render.tree_outline(tree))
            return 0
        explanation = explain(
            layer, args.metric, args.period, base=args.base, grain=args.grain, tree=tree
        )
    except (ExplainError, DriverTreeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        layer.close()
    print(render.as_json(explanation) if args.json else render.text(explanation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
