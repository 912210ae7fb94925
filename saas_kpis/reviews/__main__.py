"""`python -m saas_kpis.reviews --cadence monthly`: write the review pack of one meeting.

Writes `<out>/<cadence>-<period>.md` and `.html` (default out: target/reviews in the project) and
prints their paths. The layer is opened on the dbt profile target, as `make alerts` does, so the
pack works on any target. Exit 2: bad arguments, alert rules or driver tree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from saas_kpis.alerts.evaluation import check_as_of
from saas_kpis.alerts.rules import RuleError, load_rules
from saas_kpis.drivers.tree import TREE_PATH, DriverTreeError, load_tree
from saas_kpis.project import REPO_ROOT, project_as_of
from saas_kpis.readings import warehouse_as_of
from saas_kpis.reviews import render
from saas_kpis.reviews.pack import CADENCES, Pack, assemble
from saas_kpis.semantic import SemanticLayer

BAD_INPUT = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m saas_kpis.reviews", description=__doc__)
    parser.add_argument("--cadence", required=True, choices=CADENCES, help="the meeting")
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT)
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        help="the warehouse's as_of_date (default: read from the warehouse, else "
        "dbt_project.yml's)",
    )
    parser.add_argument("--rules", type=Path, help="folder of alert rules (default: alerts/)")
    parser.add_argument("--out", type=Path, default=Path("target/reviews"))
    return parser.parse_args(argv)


def write(pack: Pack, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = out_dir / f"{pack.file_stem}.md"
    page = out_dir / f"{pack.file_stem}.html"
    markdown.write_text(render.markdown(pack), encoding="utf-8")
    page.write_text(render.page(pack), encoding="utf-8")
    return markdown, page


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    project_dir = args.project_dir.resolve()
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR", project_dir / "profiles"))
    layer = SemanticLayer.open_dbt_project(project_dir, profiles_dir)
    try:
        as_of = args.as_of or warehouse_as_of(layer) or project_as_of(project_dir)
        metas = {metric.name: metric.meta for metric in layer.metrics()}
        rules = load_rules(args.rules or project_dir / "alerts", layer)
        # A pack of another date than the build's would mix complete and partial periods.
        check_as_of(layer, as_of)
        tree = load_tree(metas, project_dir / TREE_PATH)
        pack = assemble(layer, args.cadence, as_of, rules=rules, tree=tree)
    except (RuleError, DriverTreeError) as error:
        print(f"No review pack written:\n{error}", file=sys.stderr)
        return BAD_INPUT
    finally:
        layer.close()
    for path in write(pack, project_dir / args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
