"""The dashboards, served beside the APIs and re-rendered for every snapshot the server serves.

A background thread renders the dashboards on the served snapshot's semantic layer into a folder
of its own (`<root>/<snapshot id>/`) and then switches the pages over, so that a reader sees the
previous snapshot's pages until the new ones are complete. Pages are read-only files behind the
same token as the APIs (a browser sends it as the password of HTTP basic authentication).
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from saas_kpis.dashboards.render import Sources, render
from saas_kpis.server.snapshots import SnapshotStore

log = logging.getLogger(__name__)

PREFIX = "/dashboards"
# Only the files a render writes: a page per dashboard, the index and plotly.js.
PAGE_NAME = re.compile(r"^(?:[a-z][a-z0-9_]*\.html|plotly\.min\.js)$")


class DashboardPages:
    """The rendered pages of the newest snapshot that rendered."""

    def __init__(
        self, store: SnapshotStore, root: Path, sources: Sources, poll_seconds: float = 1.0
    ) -> None:
        self.store = store
        self.root = root
        self.sources = sources
        self.poll_seconds = poll_seconds
        self.current: Path | None = None
        self.snapshot_id: str | None = None
        self.failed: dict[str, str] = {}  # snapshot id: why its render failed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Render the served snapshot if its pages are not the current ones."""
        snapshot = self.store.current_or_none()
        if snapshot is None or snapshot.id in (self.snapshot_id, *self.failed):
            return False
        target = self.root / snapshot.id
        try:
            render(snapshot.layer, target, sources=self.sources, label=f"snapshot {snapshot.id}")
        except Exception as error:
            self.failed[snapshot.id] = f"{type(error).__name__}: {error}"
            log.error("dashboards of snapshot %s not rendered: %s", snapshot.id, error)
            return False
        previous, self.current, self.snapshot_id = self.current, target, snapshot.id
        log.info("dashboards rendered for snapshot %s", snapshot.id)
        # The previous pages stay one more round: a request may still be reading them.
        for folder in self.root.iterdir():
            if folder not in (target, previous):
                shutil.rmtree(folder, ignore_errors=True)
        return True

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._watch, name="dashboards", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        self.refresh()
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def response(self, name: str) -> Response:
        if not PAGE_NAME.match(name):
            return PlainTextResponse("not found", status_code=404)
        current = self.current
        if current is None:
            reason = "; ".join(self.failed.values())
            return PlainTextResponse(
                f"dashboards are not rendered yet{': ' + reason if reason else ''}; "
                "retry in a few seconds",
                status_code=503,
                headers={"retry-after": "5"},
            )
        path = current / name
        if not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(path, headers={"cache-control": "no-store"})


def routes(pages: DashboardPages) -> list[Route]:
    async def page(request: Request) -> Response:
        return pages.response(request.path_params.get("name") or "index.html")

    async def to_index(_: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    return [
        Route(PREFIX, to_index, methods=["GET"]),
        Route(f"{PREFIX}/", page, methods=["GET"]),
        Route(f"{PREFIX}/{{name}}", page, methods=["GET"]),
    ]
