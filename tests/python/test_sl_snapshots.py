"""Publishing serving snapshots: complete or absent, newest last, old ones pruned; a killed
publish cleaned up, a full disk refused early, a damaged snapshot never served."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import MANIFEST_FILE
from saas_kpis.server.snapshots import (
    LOCK_FILE,
    DamagedSnapshotError,
    NoSnapshotError,
    PublishError,
    SnapshotStore,
    publish,
    snapshots,
    verify,
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


def test_a_killed_publish_leaves_nothing_served_and_is_cleaned_next_time(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    warehouse, manifest = make_build(tmp_path, 1)
    # A warehouse large enough that the copy is still running when the publish is killed.
    with warehouse.open("ab") as grow:
        grow.truncate(400 * 2**20)
    script = (
        "import sys; from pathlib import Path; from saas_kpis.server.snapshots import publish; "
        "publish(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(warehouse), str(manifest), str(serving)],
        cwd=REPO_ROOT,
    )
    deadline = time.monotonic() + 60
    while not list(serving.glob(".snapshot-*.tmp/*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    leftovers = list(serving.glob(".snapshot-*.tmp"))
    assert leftovers, "the publish finished before it could be killed"
    assert snapshots(serving) == []

    warehouse, manifest = make_build(tmp_path, 2)
    published = publish(warehouse, manifest, serving)
    assert not any(path.exists() for path in leftovers)
    assert snapshots(serving) == [published]
    assert SnapshotStore(serving).refresh() is False  # a marker table, not a project build
    verify(published)


def test_publish_fails_early_when_the_disk_is_too_small(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    serving = tmp_path / "small"
    serving.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", str(serving)], check=True)
    try:
        warehouse, manifest = make_build(tmp_path, 1)
        with warehouse.open("ab") as grow:
            grow.truncate(4 * 2**20)
        with pytest.raises(PublishError, match=r"not enough disk space in .*small to publish"):
            publish(warehouse, manifest, serving)
        assert sorted(p.name for p in serving.iterdir()) == [LOCK_FILE]
    finally:
        subprocess.run(["umount", str(serving)], check=True)


def test_a_damaged_snapshot_is_refused_once_and_the_current_one_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    serving = tmp_path / "serving"
    first = publish(*make_build(tmp_path, 1), serving)
    second = publish(*make_build(tmp_path, 2), serving)
    with (second / "saas_kpis.duckdb").open("r+b") as damaged:
        damaged.truncate(damaged.seek(0, os.SEEK_END) // 2)
    verify(first)
    with pytest.raises(DamagedSnapshotError, match="bytes"):
        verify(second)

    third = publish(*make_build(tmp_path, 3), serving)
    data = bytearray((third / "saas_kpis.duckdb").read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    (third / "saas_kpis.duckdb").write_bytes(bytes(data))
    with pytest.raises(DamagedSnapshotError, match="SHA-256"):
        verify(third)

    store = SnapshotStore(serving)
    caplog.set_level(logging.ERROR, logger="saas_kpis.server.snapshots")
    assert store.refresh() is False  # the first is a marker table, not a project build
    assert "SHA-256" in store.refused[third.name]
    assert "were published" in store.refused[second.name]
    logged = [r.getMessage() for r in caplog.records if "refused snapshot" in r.getMessage()]
    assert len(logged) == 3 and all("still serving nothing" in m for m in logged)
    assert store.refresh() is False
    again = [r.getMessage() for r in caplog.records if "refused snapshot" in r.getMessage()]
    assert again == logged, "a refused snapshot is logged once, not at every refresh"
