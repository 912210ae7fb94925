"""Write the 13 raw tables as the seed CSV files (``make seeds`` writes the shipped ``seeds/``).

Files are ``<out>/<source>/<table>.csv`` with a header, LF line endings, empty fields for NULL and
no quoting; the same (seed, scale, as-of) always gives the same bytes.
"""

from __future__ import annotations

from datetime import date
from itertools import chain
from pathlib import Path

import duckdb

from saas_kpis.generate.event_logs import api_parts, registered, track_parts
from saas_kpis.generate.events import API_REQUESTS_PER_ACCOUNT, TRACK_EVENTS_PER_ACCOUNT
from saas_kpis.generate.segment_edges import with_segment_edges
from saas_kpis.generate.text import write_csv
from saas_kpis.generate.world import simulate

TABLE_ORDER = (
    "billing/billing_accounts.csv",
    "billing/billing_plans.csv",
    "billing/billing_fx_rates.csv",
    "billing/billing_subscription_items.csv",
    "billing/billing_invoices.csv",
    "billing/billing_revenue_targets.csv",
    "events/events_users.csv",
    "events/events_features.csv",
    "events/events_tracks.csv",
    "events/events_api_requests.csv",
    "support/support_tickets.csv",
    "support/support_nps_responses.csv",
    "support/support_incidents.csv",
)


def write_seeds(
    out: Path,
    seed: int,
    scale: float,
    as_of: date,
    session_events_per_account: float = TRACK_EVENTS_PER_ACCOUNT,
    api_requests_per_account: float = API_REQUESTS_PER_ACCOUNT,
    segment_edges: bool = False,
) -> dict[str, tuple[int, int]]:
    """Simulate everything and write the 13 CSV files; returns {relative path: (rows, bytes)}.
    With `segment_edges`, hand-made accounts before the simulated range empty and fill segments
    (:mod:`saas_kpis.generate.segment_edges`)."""
    w = simulate(seed, scale, as_of)
    tables = with_segment_edges(w.tables, w.cal) if segment_edges else w.tables
    stats = {name: write_csv(out / name, columns) for name, columns in tables.items()}
    logs = chain(
        track_parts(w, seed, session_events_per_account, rows_per_batch=None),
        api_parts(w, seed, api_requests_per_account, rows_per_batch=None),
    )
    with duckdb.connect() as con:
        for part in logs:
            path = out / f"{part.table}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with registered(con, part) as select_sql:
                con.execute(f"copy ({select_sql}) to '{path}' (format csv, header true)")
            stats[path.relative_to(out).as_posix()] = (part.n_rows, path.stat().st_size)
    return {name: stats[name] for name in TABLE_ORDER}
