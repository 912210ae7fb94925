"""Render every dashboard of `dashboards/` on a semantic layer into a folder of HTML pages."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from plotly.offline import get_plotlyjs

from saas_kpis.alerts.evaluation import Evaluation, evaluate
from saas_kpis.alerts.rules import load_rules
from saas_kpis.dashboards.definitions import load_dashboards
from saas_kpis.dashboards.page import PLOTLY_JS, dashboard_html, index_html
from saas_kpis.dashboards.views import Context, dashboard_views
from saas_kpis.drivers.tree import TREE_PATH, load_tree
from saas_kpis.project import REPO_ROOT, project_as_of
from saas_kpis.readings import warehouse_as_of
from saas_kpis.semantic import SemanticLayer


@dataclass(frozen=True)
class Sources:
    """The project folders a render reads: dashboards, alert rules, the driver tree."""

    project_dir: Path = REPO_ROOT

    @property
    def dashboards(self) -> Path:
        return self.project_dir / "dashboards"

    @property
    def alerts(self) -> Path:
        return self.project_dir / "alerts"

    @property
    def tree(self) -> Path:
        return self.project_dir / TREE_PATH


def as_of_date(layer: SemanticLayer, project_dir: Path) -> dt.date:
    """The warehouse's own as_of_date, else the project's default."""
    return warehouse_as_of(layer) or project_as_of(project_dir)


def render(
    layer: SemanticLayer,
    out_dir: Path,
    *,
    sources: Sources | None = None,
    as_of: dt.date | None = None,
    label: str = "",
) -> list[Path]:
    """Write `<name>.html` per dashboard, `index.html` and `plotly.min.js` to `out_dir`.

    The pages are written to a new folder that then replaces `out_dir`, so a reader never sees
    half a render. Raises DashboardError (bad definitions) before anything is queried.
    """
    sources = sources or Sources()
    dashboards = load_dashboards(sources.dashboards, layer)
    as_of = as_of or as_of_date(layer, sources.project_dir)
    metrics = {metric.name: metric for metric in layer.metrics()}
    metas = {name: metric.meta for name, metric in metrics.items()}
    context = Context(
        layer=layer,
        as_of=as_of,
        alerts=_alerts(layer, sources.alerts, as_of),
        tree=load_tree(metas, sources.tree) if sources.tree.exists() else None,
        metrics=metrics,
    )
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") + (
        f" from {label}" if label else ""
    )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        (staging / PLOTLY_JS).write_text(get_plotlyjs(), encoding="utf-8")
        for dashboard in dashboards:
            views = dashboard_views(context, dashboard)
            page = dashboard_html(dashboard, views, metas, as_of, generated)
            (staging / f"{dashboard.name}.html").write_text(page, encoding="utf-8")
        (staging / "index.html").write_text(
            index_html(dashboards, as_of, generated), encoding="utf-8"
        )
        _replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / f"{dashboard.name}.html" for dashboard in dashboards]


def _alerts(layer: SemanticLayer, rules_dir: Path, as_of: dt.date) -> list[Evaluation]:
    """The alert rules evaluated now (nothing sent): the status tiles show what fires."""
    if not rules_dir.is_dir():
        return []
    return evaluate(layer, load_rules(rules_dir, layer), as_of)


def _replace(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out_dir)
