"""Declarative caching: the saved queries that a build asks the server to compute in advance.

dbt keeps a saved query's `config: cache: enabled: true` in `manifest.json` only (the semantic
manifest has no config), so `publish` records the names of those saved queries in the snapshot
(`CACHE_FILE`, checked with the snapshot's other files), and the server computes them when it
opens the snapshot, before serving it: the first request for one is a cache hit. A snapshot
without the file (published by an older version, or from a build without `manifest.json`)
declares none.
"""

from __future__ import annotations

import json
from pathlib import Path

CACHE_FILE = "cached_saved_queries.json"
DBT_MANIFEST_FILE = "manifest.json"


def declared_in_manifest(dbt_manifest: Path) -> list[str]:
    """The saved queries of a dbt `manifest.json` whose `config.cache.enabled` is true."""
    saved_queries = json.loads(dbt_manifest.read_text(encoding="utf-8"))["saved_queries"]
    return sorted(
        node["name"]
        for node in saved_queries.values()
        if ((node.get("config") or {}).get("cache") or {}).get("enabled") is True
    )


def write_declaration(dbt_manifest: Path, target: Path) -> None:
    """Write the declared saved queries of a build into a snapshot being published."""
    names = declared_in_manifest(dbt_manifest)
    target.write_text(json.dumps({"saved_queries": names}, indent=1), encoding="utf-8")


def declared_in_snapshot(snapshot_dir: Path) -> tuple[str, ...]:
    """The saved queries that a published snapshot declares cached (none without the file)."""
    path = snapshot_dir / CACHE_FILE
    if not path.is_file():
        return ()
    return tuple(json.loads(path.read_text(encoding="utf-8"))["saved_queries"])
