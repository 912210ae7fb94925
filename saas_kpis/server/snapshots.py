"""Serving snapshots: publishing a finished build, and watching for the newest one.

DuckDB lets no other process open a file while dbt writes it, so the server never reads the
warehouse that `dbt build` writes. After a successful build, `publish()` copies the warehouse
and its semantic manifest into a new snapshot directory (written under a temporary name, then
renamed, so a snapshot is complete or absent). The server opens the newest snapshot read-only
and switches to a newer one when it appears; queries that started on the old one finish there.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from saas_kpis.semantic import MANIFEST_FILE, SemanticLayer

log = logging.getLogger(__name__)

SNAPSHOT_PREFIX = "snapshot-"


class NoSnapshotError(RuntimeError):
    """No published build yet."""


def publish(warehouse: Path, manifest: Path, serving_dir: Path, keep: int = 3) -> Path:
    """Copy a finished build into a new snapshot directory; return its path."""
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse to publish at {warehouse}; run dbt build first")
    if not manifest.is_file():
        raise FileNotFoundError(f"no semantic manifest at {manifest}; run dbt build first")
    serving_dir.mkdir(parents=True, exist_ok=True)
    name = SNAPSHOT_PREFIX + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    staging = serving_dir / f".{name}.tmp"
    staging.mkdir()
    # The file keeps its name: DuckDB names the catalog after it, and the SQL uses the catalog.
    shutil.copyfile(warehouse, staging / warehouse.name)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, staging / wal.name)
    shutil.copyfile(manifest, staging / MANIFEST_FILE)
    final = serving_dir / name
    os.rename(staging, final)
    for old in snapshots(serving_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def snapshots(serving_dir: Path) -> list[Path]:
    """Complete snapshots, oldest first."""
    if not serving_dir.is_dir():
        return []
    return sorted(
        p for p in serving_dir.iterdir() if p.is_dir() and p.name.startswith(SNAPSHOT_PREFIX)
    )


@dataclass(frozen=True)
class Snapshot:
    """One published build and the semantic layer over its read-only warehouse."""

    id: str
    path: Path
    layer: SemanticLayer

    @classmethod
    def open(cls, path: Path) -> Snapshot:
        warehouse = next(p for p in path.iterdir() if p.suffix == ".duckdb")
        return cls(path.name, path, SemanticLayer.open_duckdb(warehouse, path / MANIFEST_FILE))


class SnapshotStore:
    """The newest published snapshot, watched in a background thread."""

    def __init__(self, serving_dir: Path, poll_seconds: float = 1.0) -> None:
        self.serving_dir = serving_dir
        self.poll_seconds = poll_seconds
        self._current: Snapshot | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> Snapshot:
        snapshot = self._current
        if snapshot is None:
            raise NoSnapshotError(
                "no published build yet: run `make build` (dbt build, then publish)"
            )
        return snapshot

    def current_or_none(self) -> Snapshot | None:
        return self._current

    def refresh(self) -> bool:
        """Open the newest snapshot if it is newer than the current one."""
        available = snapshots(self.serving_dir)
        if not available:
            return False
        newest = available[-1]
        with self._lock:
            if self._current is not None and self._current.id >= newest.name:
                return False
            try:
                snapshot = Snapshot.open(newest)
            except Exception:
                log.exception("could not open snapshot %s", newest.name)
                return False
            self._current = snapshot  # in-flight queries keep their reference to the old one
            log.info("serving snapshot %s", snapshot.id)
            return True

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="snapshot-watcher", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
