"""The Python side of the SaaS KPI project, above the dbt models.

`semantic` is the semantic query layer (the only code that talks to MetricFlow); `server`,
`exports`, `summary` and `catalog` are its consumers; `generate` makes the raw data; `bench`
measures the project; `project` runs dbt on a copy of the project.
"""
