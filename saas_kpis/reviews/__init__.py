"""Review packs: what the weekly, monthly or quarterly KPI meeting looks at, as one document.

`pack` assembles a pack as typed data from the semantic layer (the metrics whose meta
`review_cadence` is the meeting's, their latest complete values and movement, the alert rules
that fired or resolved, the driver decomposition of the primary metric and the owners who must
act); `render` writes it as Markdown and as self-contained HTML; `python -m saas_kpis.reviews
--cadence monthly` (`make review CADENCE=monthly`) is the command.
"""
