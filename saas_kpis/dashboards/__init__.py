"""Dashboards as code: YAML definitions in `dashboards/`, rendered to self-contained HTML pages.

Every number comes from the semantic layer (as alerts and review packs do); `make dashboards`
renders them and `make serve` serves them, re-rendered for every published snapshot.
"""
