"""Headless Debian Chromium driven by Playwright, for the dashboard tests.

The project installs Debian's `chromium` (`make test` does, as the parity run installs
PostgreSQL); Playwright's own browser download does not work offline, so it is never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium calls Google's hosts at start; this machine
# (like a locked-down CI runner) refuses them.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "target" / "test-artifacts" / "dashboards"


@contextmanager
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page with what went wrong in it: console errors, page errors, requests off the machine."""

    page: Page
    errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)


def open_page(
    browser: Browser, url: str, *, dashboard: bool = True, **context_options: object
) -> Watched:
    """Open `url` with requests to anything but file:// and loopback refused and recorded;
    a dashboard is open once its script has filled the tiles."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_options)
    page = context.new_page()
    watched = Watched(page)
    page.on(
        "console",
        lambda message: watched.errors.append(f"console {message.type}: {message.text}")
        if message.type in ("error", "warning")
        else None,
    )
    page.on("pageerror", lambda error: watched.errors.append(f"page error: {error}"))

    def route(request_route) -> None:
        request_url = request_route.request.url
        if request_url.startswith(("file://", "http://127.0.0.1", "http://localhost")):
            request_route.continue_()
        else:
            watched.remote_requests.append(request_url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url)
    if dashboard:
        page.wait_for_function("document.body.dataset.view !== undefined")
    return watched


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
