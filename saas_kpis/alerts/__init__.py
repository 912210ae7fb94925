"""Alerts: rules in `alerts/*.yml` evaluated on the semantic layer's metric values.

`rules` reads and checks the YAML, `conditions` decides a rule's state on a metric series,
`evaluation` asks the semantic layer for the series, `state` remembers what was sent, `webhook`
posts Slack-compatible messages and `report` prints and writes the run's result; `runner` runs
them in order for `python -m saas_kpis.alerts`.
"""
