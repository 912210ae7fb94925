"""The data generator: the raw seed data of the SaaS-KPI project (the 13 raw tables of kpi-spec
section 1), as the shipped CSV seeds or as Parquet benchmark datasets.

The simulation describes a fictional B2B SaaS company that sells a team-analytics product per
seat. Three years of sign-ups end on ``--as-of`` (default 2026-06-30); every date range is derived
from it.

What is simulated, in order:

* ``billing_accounts``: sign-ups that grow over time (fewer on weekends), with industry, region and
  acquisition channel. Each account has a hidden *health* score that lowers churn, raises product
  usage and improves NPS / CSAT, so the KPIs move together the way they do in real data.
* ``billing_plans`` / ``billing_fx_rates``: Starter / Pro / Enterprise plus two per-seat add-ons
  (Analytics: tier pro, Security: tier enterprise), each monthly and annual (annual = 10x monthly),
  priced in USD, EUR, GBP and CAD. An account pays in one currency, chosen from its region.
* ``billing_subscription_items``: a per-account event simulation. About 72 % of accounts ever
  pay (some after a 14-day trial). The main subscription then goes through upgrades, downgrades,
  seat changes, discount changes, monthly-to-annual switches and churn (monthly plans any day,
  annual plans at renewal). Some churned accounts reactivate with a new subscription;
  Pro/Enterprise accounts may hold add-on subscriptions that end with the main one. Change days
  are sometimes snapped to the last day or the 1st of a month (month-end snapshot edge cases) and
  a few subscriptions start and end in the same month.
* ``billing_invoices``: subscription invoices per billing period (prorated when an item changes
  mid-period), monthly usage invoices in arrears for API customers, onboarding fees, credit notes
  (goodwill credits on subscriptions and SLA credits after sev1 outages), void invoices that are
  re-issued, and recent invoices still open.
* ``billing_revenue_targets``: board ARR targets per ISO year, set above the simulated actuals.
* ``events_*``: users per account, a feature catalogue with launch dates, product events (scripted
  onboarding, invitations and first project, plus Poisson sessions whose rate follows the account's
  lifecycle: high in the trial, declining before churn, near zero after it or when an account goes
  quiet) and a public-API request log with throttling bursts and incident-driven 5xx errors.
* ``support_*``: tickets (~1 per paying account-month), quarterly NPS surveys and status-page
  incidents (some overlapping outages, one still ongoing at the as-of date).

Deliberately dirty (the pipeline must handle it): ~1 % of product events are delivered twice (same
``event_id``, later ``received_at``), ~2 % arrive 1-5 days late (a few after the as-of date), and a
few tickets / one incident get a response or resolution time after the as-of date.

The output is deterministic for a given (seed, scale, as-of): every table draws from its own random
stream and rows are written in primary-key order.

Modules, each importing only those above it:

* :mod:`.calendar`, :mod:`.sampling`, :mod:`.text`: time conventions and the simulated range,
  shared random draws, and the seed files' text format;
* :mod:`.accounts`, :mod:`.subscriptions` (plans, FX rates, subscription items), :mod:`.users`
  (users, features), :mod:`.support` (incidents, tickets, NPS), :mod:`.events` (the activity
  and the two event logs as typed arrays), :mod:`.invoices` (invoices, revenue targets);
* :mod:`.world`: simulates every table but the event logs from (seed, scale, as-of);
* :mod:`.event_logs`: builds the event logs batch by batch and renders their rows, once, for
  both writers;
* :mod:`.segment_edges`: opt-in hand-made accounts whose segments empty and fill (test data);
* :mod:`.csv_writer` (the seeds) and :mod:`.parquet_writer` (benchmark presets S, M, L);
* ``__main__``: the command line.

Usage::

    python -m saas_kpis.generate --out seeds --seed 42 --scale 1.0 --as-of 2026-06-30
    python -m saas_kpis.generate --format parquet --preset M --out bench/data/M
"""
