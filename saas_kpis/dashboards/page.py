"""The HTML of a dashboard and of the index: one self-contained page per dashboard.

The page carries every tile's views (for `all` and each filter value) as JSON; a small script
fills the tiles from the chosen view and draws the figures with plotly.js, shipped once beside
the pages (`plotly.min.js`), so that the pages open offline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from saas_kpis.dashboards.definitions import CHARTS, Dashboard, Tile
from saas_kpis.dashboards.views import ALL, View
from saas_kpis.units import show

PLOTLY_JS = "plotly.min.js"
DIMENSION_LABELS = {
    "account_month__plan_tier": "Plan tier",
    "account_month__industry": "Industry",
    "account_month__account_age_band": "Account age band",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f6f8; color: #1d2733; }
header { background: #1d2733; color: #fff; padding: 12px 24px; }
header a { color: #9cc3ff; }
header p { margin: 4px 0 0; color: #c8d2dc; font-size: 13px; }
.filters { padding: 10px 24px; background: #fff; border-bottom: 1px solid #dde3e9; }
.filters label { margin-right: 18px; font-size: 13px; }
.filters .scope { font-size: 13px; color: #566; }
section { padding: 8px 24px; }
h2 { font-size: 17px; margin: 12px 0 8px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
.tile { background: #fff; border: 1px solid #dde3e9; border-radius: 6px; padding: 10px 12px; }
.tile.wide { grid-column: 1 / -1; }
.tile h3 { font-size: 14px; margin: 0 0 4px; }
.headline .value { font-size: 26px; font-weight: 600; }
.headline .change { margin-left: 8px; font-size: 13px; color: #566; }
.headline .period { margin-left: 8px; font-size: 12px; color: #889; }
.meta { font-size: 12px; color: #667; margin: 2px 0 6px; }
.status-green { color: #1e8449; } .status-amber { color: #b9770e; } .status-red { color: #c0392b; }
.badges { display: flex; flex-wrap: wrap; gap: 8px; }
.badge { border-radius: 6px; padding: 6px 10px; min-width: 130px; color: #fff; font-size: 12px; }
.badge .value { display: block; font-size: 18px; font-weight: 600; }
.badge.green { background: #1e8449; } .badge.amber { background: #b9770e; }
.badge.red { background: #c0392b; } .badge.no-data { background: #7f8c8d; }
.rows { max-height: 420px; overflow: auto; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #e5e9ee; }
.note { font-size: 12px; color: #667; }
.dashboards li { margin: 10px 0; }
"""

SCRIPT = """
const views = JSON.parse(document.getElementById('views').textContent);
const labels = JSON.parse(document.getElementById('dimension-labels').textContent);
function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function fill(tile, view, note) {
  const value = tile.querySelector('.headline .value');
  if (value) {
    value.textContent = view.display;
    value.dataset.value = view.value === null ? '' : String(view.value);
    value.className = 'value' + (view.status ? ' status-' + view.status.replace(' ', '-') : '');
    tile.querySelector('.change').textContent = view.change ? view.change + ' vs previous' : '';
    tile.querySelector('.period').textContent = view.period;
    tile.dataset.status = view.status;
  }
  const badges = tile.querySelector('.badges');
  if (badges) {
    badges.replaceChildren(...view.badges.map(b => {
      const badge = el('div', {class: 'badge ' + b.status.replace(' ', '-'),
        'data-metric': b.metric, 'data-status': b.status, title: b.why + ' · owner ' + b.owner});
      badge.append(el('span', {}, b.label));
      const raw = b.value === null ? '' : String(b.value);
      badge.append(el('span', {class: 'value', 'data-value': raw}, b.display));
      const bound = b.threshold ? 'threshold ' + b.threshold + ' · ' : '';
      badge.append(el('span', {}, bound + b.status));
      return badge;
    }));
  }
  const table = tile.querySelector('table');
  if (table) {
    table.replaceChildren();
    if (view.table) {
      const head = el('tr');
      view.table.columns.forEach(c => head.append(el('th', {}, c)));
      table.append(head);
      view.table.rows.forEach(r => {
        const row = el('tr');
        r.forEach(c => row.append(el('td', {}, c)));
        table.append(row);
      });
    }
  }
  tile.querySelector('.note').textContent = [view.note, note].filter(Boolean).join(' · ');
  const chart = tile.querySelector('.chart');
  if (chart) {
    if (view.figure) {
      const config = {displayModeBar: false, responsive: true};
      Plotly.react(chart, view.figure.data, view.figure.layout, config);
    } else {
      Plotly.purge(chart);
    }
  }
}
function choose(key) {
  document.body.dataset.view = key;
  document.querySelectorAll('.tile').forEach(tile => {
    const own = views[tile.dataset.tile];
    let note = '';
    let view = own[key];
    if (!view) {
      view = own['all'];
      const dimension = key.split('=')[0];
      const name = (labels[dimension] || dimension).toLowerCase();
      note = 'not filtered: no ' + name + ' for this tile';
    }
    tile.dataset.filtered = String(key !== 'all' && own[key] !== undefined);
    fill(tile, view, note);
  });
  const scope = document.querySelector('.scope');
  const [dimension, value] = key.split('=');
  if (scope) scope.textContent = key === 'all' ? 'All accounts' : labels[dimension] + ': ' + value;
}
document.querySelectorAll('select[data-filter]').forEach(select => {
  select.addEventListener('change', () => {
    document.querySelectorAll('select[data-filter]').forEach(other => {
      if (other !== select) other.value = '';
    });
    const key = select.value ? select.dataset.filter + '=' + select.value : 'all';
    history.replaceState(null, '', key === 'all' ? '#' : '#' + key);
    choose(key);
  });
});
const initial = decodeURIComponent(location.hash.slice(1));
const start = views && Object.values(views).some(v => v[initial]) ? initial : 'all';
if (start !== 'all') {
  const select = document.querySelector('select[data-filter="' + start.split('=')[0] + '"]');
  if (select) select.value = start.split('=')[1];
}
choose(start);
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _json_script(element_id: str, value: Any) -> str:
    # "</" would end the script element early; JSON allows "<\\/".
    text = json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script id="{element_id}" type="application/json">{text}</script>'


def _tile_html(tile: Tile, meta: Mapping[str, Any], unit: str | None) -> str:
    if tile.chart == "status":
        facts = [f"by {tile.grain}", "red: misses its threshold", "amber: an alert on it fires"]
    else:
        facts = [
            f"owner {meta.get('owner', 'n/a')}",
            f"reviewed {meta.get('review_cadence', 'n/a')}",
            f"by {tile.grain}",
        ]
    if tile.target is not None:
        facts.append(f"target {show(tile.target, unit)}")
    if tile.threshold is not None and tile.chart != "status":
        facts.append(f"threshold {tile.threshold.operator} {show(tile.threshold.value, unit)}")
    if meta.get("framework_code"):
        facts.append(str(meta["framework_code"]))
    wide = tile.chart in ("status", "heatmap", "cohort_heatmap", "accounts_at_risk", "drivers")
    parts = [
        f'<article class="tile{" wide" if wide else ""}" id="tile-{_e(tile.id)}" '
        f'data-tile="{_e(tile.id)}" data-metric="{_e(tile.metric)}" data-chart="{tile.chart}" '
        f'title="{_e(CHARTS[tile.chart])}">',
        f"<h3>{_e(tile.title)}</h3>",
    ]
    if tile.chart == "status":
        parts.append('<div class="badges"></div>')
    else:
        parts.append(
            '<div class="headline"><span class="value"></span><span class="change"></span>'
            '<span class="period"></span></div>'
        )
    parts.append(f'<div class="meta">{_e(" · ".join(facts))}</div>')
    if tile.chart not in ("status", "accounts_at_risk"):
        parts.append(f'<div class="chart" id="chart-{_e(tile.id)}"></div>')
    if tile.chart in ("drivers", "accounts_at_risk"):
        parts.append('<div class="rows"><table></table></div>')
    parts.append('<p class="note"></p></article>')
    return "".join(parts)


def dashboard_html(
    dashboard: Dashboard,
    views: Mapping[str, Mapping[str, View]],
    metas: Mapping[str, Mapping[str, Any]],
    as_of: dt.date,
    generated: str,
) -> str:
    filter_values = _filter_values(dashboard.filters, views)
    selects = "".join(
        f"<label>{_e(DIMENSION_LABELS.get(dimension, dimension))} "
        f'<select data-filter="{_e(dimension)}"><option value="">All</option>'
        + "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in filter_values[dimension])
        + "</select></label>"
        for dimension in dashboard.filters
    )
    filters = (
        f'<div class="filters">{selects}<span class="scope"></span>'
        '<p class="note">One segment at a time: choosing one resets the others.</p></div>'
        if dashboard.filters
        else ""
    )
    sections = "".join(
        f'<section><h2>{_e(section.title)}</h2><div class="grid">'
        + "".join(
            _tile_html(tile, metas[tile.metric], metas[tile.metric].get("unit"))
            for tile in section.tiles
        )
        + "</div></section>"
        for section in dashboard.sections
    )
    data = {
        tile_id: {key: dataclasses.asdict(view) for key, view in tile_views.items()}
        for tile_id, tile_views in views.items()
    }
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(dashboard.title)}</title><style>{STYLE}</style>"
        f'<script src="{PLOTLY_JS}"></script></head>'
        f'<body data-dashboard="{_e(dashboard.name)}" data-as-of="{as_of.isoformat()}">'
        f'<header><a href="index.html">All dashboards</a><h1>{_e(dashboard.title)}</h1>'
        f"<p>{_e(dashboard.audience)} · {_e(dashboard.description)}</p>"
        f"<p>Latest complete periods as of {as_of.isoformat()} · generated {_e(generated)} · "
        "every number from the semantic layer</p></header>"
        f"{filters}{sections}"
        + _json_script("views", data)
        + _json_script("dimension-labels", DIMENSION_LABELS)
        + f"<script>{SCRIPT}</script></body></html>"
    )


def _filter_values(
    dimensions: Sequence[str], views: Mapping[str, Mapping[str, View]]
) -> dict[str, list[str]]:
    values: dict[str, set[str]] = {dimension: set() for dimension in dimensions}
    for tile_views in views.values():
        for key in tile_views:
            if key != ALL:
                dimension, _, value = key.partition("=")
                values[dimension].add(value)
    return {dimension: sorted(found) for dimension, found in values.items()}


def index_html(dashboards: Sequence[Dashboard], as_of: dt.date, generated: str) -> str:
    items = "".join(
        f'<li><a href="{_e(d.name)}.html">{_e(d.title)}</a> · {_e(d.audience)}'
        f'<br><span class="note">{_e(d.description)}</span></li>'
        for d in dashboards
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>SaaS KPI dashboards</title><style>{STYLE}</style></head><body>"
        "<header><h1>SaaS KPI dashboards</h1>"
        f"<p>Latest complete periods as of {as_of.isoformat()} · generated {_e(generated)}</p>"
        f'</header><section><ul class="dashboards">{items}</ul></section></body></html>'
    )
