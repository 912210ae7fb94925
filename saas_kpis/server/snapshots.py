"""Serving snapshots: publishing a finished build, and watching for the newest one.

DuckDB lets no other process open a file while dbt writes it, so the server never reads the
warehouse that `dbt build` writes. After a successful build, `publish()` copies the warehouse
and its semantic manifest into a new snapshot directory (written under a temporary name, then
renamed, so a snapshot is complete or absent). The snapshot records the size and SHA-256 of each
file it holds (`snapshot.json`), so that a snapshot damaged afterwards (a truncated copy, a disk
error) is refused rather than served. The server opens the newest valid snapshot read-only and
switches to a newer one when it appears; queries that started on the old one finish there.

A PostgreSQL build is not copied: its snapshot holds the manifest and `warehouse.json`, the
profile target to query (see warehouse_targets), and is served from the warehouse itself.

One publish runs at a time (a lock file in the serving directory). It first removes what a
killed publish left behind, and refuses to start when the disk cannot hold another snapshot.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from saas_kpis.semantic import MANIFEST_FILE, SemanticLayer
from saas_kpis.semantic.postgres_warehouse import PoolSettings, WarehouseQueryError
from saas_kpis.server.declarative_cache import CACHE_FILE, DBT_MANIFEST_FILE, write_declaration
from saas_kpis.server.warehouse_targets import (
    WAREHOUSE_FILE,
    PostgresPools,
    WarehouseTarget,
    missing_relations,
)

log = logging.getLogger(__name__)

SNAPSHOT_PREFIX = "snapshot-"
CONTENTS_FILE = "snapshot.json"
LOCK_FILE = ".publish.lock"
COPY_CHUNK = 8 * 1024 * 1024
# Room kept free beyond the snapshot itself, so that publishing never fills the disk.
FREE_SPACE_MARGIN = 64 * 1024 * 1024


class NoSnapshotError(RuntimeError):
    """No published build yet."""


class PublishError(RuntimeError):
    """A build cannot be published; the message says why and what to do."""


class DamagedSnapshotError(RuntimeError):
    """A snapshot's files differ from what was published."""


def copy_with_digest(source: Path, target: Path) -> dict[str, object]:
    """Copy a file; return its size and SHA-256, read in the same pass."""
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(COPY_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return {"bytes": size, "sha256": digest.hexdigest()}


def file_digest(path: Path) -> dict[str, object]:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(COPY_CHUNK):
            digest.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


@contextmanager
def publish_lock(serving_dir: Path) -> Iterator[None]:
    with (serving_dir / LOCK_FILE).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def remove_leftovers(serving_dir: Path) -> list[str]:
    """Remove the temporary directories of publishes that were killed midway."""
    leftovers = [
        p for p in serving_dir.iterdir() if p.is_dir() and p.name.startswith(f".{SNAPSHOT_PREFIX}")
    ]
    for leftover in leftovers:
        shutil.rmtree(leftover, ignore_errors=True)
        log.warning("removed %s, left by a publish that did not finish", leftover.name)
    return [leftover.name for leftover in leftovers]


def check_free_space(serving_dir: Path, files: list[Path]) -> None:
    needed = sum(path.stat().st_size for path in files) + FREE_SPACE_MARGIN
    free = shutil.disk_usage(serving_dir).free
    if needed > free:
        raise PublishError(
            f"not enough disk space in {serving_dir} to publish: a snapshot needs "
            f"{needed / 2**20:,.0f} MiB (with a {FREE_SPACE_MARGIN // 2**20} MiB margin) and "
            f"{free / 2**20:,.0f} MiB are free; free some space or point "
            "SAAS_KPIS_SERVING_DIR at a larger disk"
        )


def publish(warehouse: Path, manifest: Path, serving_dir: Path, keep: int = 3) -> Path:
    """Copy a finished build into a new snapshot directory; return its path."""
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse to publish at {warehouse}; run dbt build first")
    if not manifest.is_file():
        raise FileNotFoundError(f"no semantic manifest at {manifest}; run dbt build first")
    serving_dir.mkdir(parents=True, exist_ok=True)
    wal = warehouse.with_name(warehouse.name + ".wal")
    # The warehouse keeps its name: DuckDB names the catalog after it, and the SQL uses it.
    files = {warehouse.name: warehouse, MANIFEST_FILE: manifest}
    if wal.exists():
        files[wal.name] = wal
    return _publish_files(files, serving_dir, keep)


def publish_target(
    target: WarehouseTarget, manifest: Path, serving_dir: Path, keep: int = 3
) -> Path:
    """Publish a build that is served from its warehouse (PostgreSQL): the manifest and the
    profile target's name, no data and no credentials; refused unless the warehouse holds the
    relations the manifest reads."""
    if not manifest.is_file():
        raise FileNotFoundError(f"no semantic manifest at {manifest}; run dbt build first")
    try:
        missing = missing_relations(target, manifest)
    except WarehouseQueryError as error:
        raise PublishError(f"cannot check the {target.target} warehouse: {error}") from None
    if missing:
        raise PublishError(
            f"the {target.target} warehouse lacks {', '.join(missing)}, which the semantic "
            f"manifest reads; run dbt build with SAAS_KPIS_TARGET={target.target} first"
        )
    serving_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="saas-kpis-target-") as scratch:
        reference = Path(scratch) / WAREHOUSE_FILE
        reference.write_text(target.to_json(), encoding="utf-8")
        return _publish_files(
            {WAREHOUSE_FILE: reference, MANIFEST_FILE: manifest}, serving_dir, keep
        )


def _publish_files(files: dict[str, Path], serving_dir: Path, keep: int) -> Path:
    with publish_lock(serving_dir):
        remove_leftovers(serving_dir)
        check_free_space(serving_dir, list(files.values()))
        name = SNAPSHOT_PREFIX + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        staging = serving_dir / f".{name}.tmp"
        staging.mkdir()
        try:
            contents = {
                target: copy_with_digest(source, staging / target)
                for target, source in files.items()
            }
            # The saved queries the build declares cached, read from dbt's full manifest.
            dbt_manifest = files[MANIFEST_FILE].with_name(DBT_MANIFEST_FILE)
            if dbt_manifest.is_file():
                write_declaration(dbt_manifest, staging / CACHE_FILE)
                contents[CACHE_FILE] = file_digest(staging / CACHE_FILE)
            (staging / CONTENTS_FILE).write_text(json.dumps({"files": contents}, indent=1))
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise PublishError(f"publishing to {serving_dir} failed: {error}") from error
        final = serving_dir / name
        os.rename(staging, final)
        for old in snapshots(serving_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def verify(path: Path) -> None:
    """Raise DamagedSnapshotError unless every file has the size and digest it was published
    with."""
    contents_file = path / CONTENTS_FILE
    if not contents_file.is_file():
        raise DamagedSnapshotError(f"{CONTENTS_FILE} is missing")
    try:
        published = json.loads(contents_file.read_text())["files"]
    except (ValueError, KeyError) as error:
        raise DamagedSnapshotError(f"{CONTENTS_FILE} is unreadable: {error}") from None
    for name, expected in published.items():
        target = path / name
        if not target.is_file():
            raise DamagedSnapshotError(f"{name} is missing")
        size = target.stat().st_size
        if size != expected["bytes"]:
            raise DamagedSnapshotError(
                f"{name} has {size} bytes, {expected['bytes']} were published"
            )
        if file_digest(target)["sha256"] != expected["sha256"]:
            raise DamagedSnapshotError(f"{name} differs from the published file (SHA-256)")


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
    def open(cls, path: Path, postgres: PostgresPools | None = None) -> Snapshot:
        verify(path)
        if (path / WAREHOUSE_FILE).is_file():
            if postgres is None:
                raise RuntimeError("a snapshot of a PostgreSQL build opens on PostgresPools")
            pool = postgres.pool(WarehouseTarget.read(path / WAREHOUSE_FILE))
            return cls(path.name, path, SemanticLayer.open_postgres(pool, path / MANIFEST_FILE))
        warehouse = next(p for p in path.iterdir() if p.suffix == ".duckdb")
        return cls(path.name, path, SemanticLayer.open_duckdb(warehouse, path / MANIFEST_FILE))


class SnapshotListener(Protocol):
    """Told of each snapshot the store opens: `prepare` before it is served (in the thread that
    found it; an error is logged and the snapshot served anyway), `serving` once it is."""

    def prepare(self, snapshot: Snapshot) -> None: ...

    def serving(self, snapshot: Snapshot) -> None: ...


class SnapshotStore:
    """The newest published snapshot, watched in a background thread."""

    def __init__(
        self, serving_dir: Path, poll_seconds: float = 1.0, postgres: PostgresPools | None = None
    ) -> None:
        self.serving_dir = serving_dir
        self.poll_seconds = poll_seconds
        # The pools outlive snapshots: every snapshot of one PostgreSQL target shares its pool.
        self.postgres = postgres or PostgresPools(PoolSettings())
        self._current: Snapshot | None = None
        self.refused: dict[str, str] = {}  # snapshot id: why it is not served
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listeners: list[SnapshotListener] = []

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
        """Serve the newest snapshot that opens, if it is newer than the current one.

        A snapshot that cannot be opened is refused once, with the reason in the log, and the
        next newest is tried; the current one stays served when none newer opens.
        """
        with self._lock:
            for candidate in reversed(snapshots(self.serving_dir)):
                if self._current is not None and self._current.id >= candidate.name:
                    return False
                if candidate.name in self.refused:
                    continue
                try:
                    snapshot = Snapshot.open(candidate, self.postgres)
                except Exception as error:
                    reason = f"{type(error).__name__}: {error}"
                    self.refused[candidate.name] = reason
                    serving = self._current.id if self._current else "nothing"
                    log.error(
                        "refused snapshot %s (%s); still serving %s",
                        candidate.name,
                        reason,
                        serving,
                    )
                    continue
                for listener in self.listeners:
                    try:
                        listener.prepare(snapshot)
                    except Exception as error:
                        log.error("preparing %s failed (%s); serving it", snapshot.id, error)
                self._current = snapshot  # in-flight queries keep their reference to the old one
                log.info("serving snapshot %s", snapshot.id)
                for listener in self.listeners:
                    listener.serving(snapshot)
                return True
            return False

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
