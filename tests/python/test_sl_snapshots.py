"""Publishing serving snapshots: complete or absent, newest last, old ones pruned."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from saas_kpis.server.snapshots import (
    MANIFEST_FILE,
    NoSnapshotError,
    SnapshotStore,
    publish,
    snapshots,
)


def make_build(directory: Path, value: int) -> tuple[Path, Path]:
    warehouse = directory / "saas_kpis.duckdb"
    warehouse.unlink(missing_ok=True)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(f"create table marker as select {value} as value")
    manifest = directory / "semantic_manifest.json"
    manifest.write_text(f'{{"build": {value}}}')
    return warehouse, manifest


def test_publish_copies_the_build_and_keeps_the_newest(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    published = []
    for value in range(5):
        warehouse, manifest = make_build(tmp_path, value)
        published.append(publish(warehouse, manifest, serving, keep=3))
    assert snapshots(serving) == published[-3:]
    newest = published[-1]
    assert (newest / MANIFEST_FILE).read_text() == '{"build": 4}'
    with duckdb.connect(str(newest / "saas_kpis.duckdb"), read_only=True) as connection:
        assert connection.execute("select value from marker").fetchall() == [(4,)]


def test_unfinished_snapshots_are_ignored(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    (serving / ".snapshot-20990101T000000000000.tmp").mkdir(parents=True)
    (serving / "not-a-snapshot").mkdir()
    assert snapshots(serving) == []
    store = SnapshotStore(serving)
    assert store.refresh() is False
    with pytest.raises(NoSnapshotError, match="no published build"):
        store.current()


def test_publish_without_a_build_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no warehouse to publish"):
        publish(tmp_path / "missing.duckdb", tmp_path / "m.json", tmp_path / "serving")
    assert not (tmp_path / "serving").exists()
