"""Alerts: rules in `alerts/*.yml` evaluated on the semantic layer's metric values.

`rules` reads and checks the YAML, `periods` knows which periods are complete as of a date,
`conditions` decides a rule's state on a metric series, `evaluation` asks the semantic layer for
the series, `state` remembers what was sent, `webhook` posts Slack-compatible messages and
`report` prints and writes the run's result. `python -m saas_kpis.alerts` runs them in order.
"""
