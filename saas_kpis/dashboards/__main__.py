"""`python -m saas_kpis.dashboards`: render the dashboards of `dashboards/` on the built warehouse.

Writes one HTML page per dashboard, an index and plotly.min.js to `target/dashboards/` (open
`index.html` in a browser, offline). `--check` only checks the definitions (exit 2 when bad).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from saas_kpis.alerts.rules import RuleError
from saas_kpis.dashboards.definitions import DashboardError, load_dashboards
from saas_kpis.dashboards.render import Sources, render
from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import MANIFEST_FILE, SemanticLayer

BAD_DEFINITIONS = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m saas_kpis.dashboards", description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT)
    parser.add_argument("--out", type=Path, default=Path("target/dashboards"))
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        help="as_of_date (default: the warehouse's own, from its early-warning snapshot)",
    )
    parser.add_argument("--check", action="store_true", help="only check the definitions")
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    sources = Sources(project_dir)
    if args.check:
        layer = SemanticLayer.from_manifest(project_dir / "target" / MANIFEST_FILE)
        try:
            dashboards = load_dashboards(sources.dashboards, layer)
        except DashboardError as error:
            print(f"Bad dashboard definitions:\n{error}", file=sys.stderr)
            return BAD_DEFINITIONS
        tiles = sum(len(dashboard.tiles) for dashboard in dashboards)
        print(f"{len(dashboards)} dashboards with {tiles} tiles are valid.")
        return 0
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR", project_dir / "profiles"))
    layer = SemanticLayer.open_dbt_project(project_dir, profiles_dir)
    try:
        pages = render(layer, project_dir / args.out, sources=sources, as_of=args.as_of)
    except (DashboardError, RuleError) as error:
        print(
            f"Bad dashboard definitions or alert rules, nothing rendered:\n{error}", file=sys.stderr
        )
        return BAD_DEFINITIONS
    finally:
        layer.close()
    for page in pages:
        print(f"wrote {page}")
    print(f"open {project_dir / args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
