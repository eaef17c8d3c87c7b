"""A headless Chromium for the page's tests: Playwright driving Debian's chromium.

Playwright's own browser download is not reachable here; .ci/run installs the
`chromium` package. Each page opened through `open_page` records console errors and
uncaught exceptions; the test fails if the page logged any.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_context() -> Iterator[Any]:
    """One Chromium with a fresh user-data directory for the whole session."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    profile = tempfile.mkdtemp(prefix="vmsim-chromium-")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1600, "height": 1100},
        )
        # no network: any request other than the page itself fails the test
        ctx.route(
            "**/*",
            lambda route: (
                route.abort() if not route.request.url.startswith("file:") else route.continue_()
            ),
        )
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def open_page(browser_context: Any, tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """open_page(html) -> a loaded Playwright page; checks it logged no JavaScript error."""
    pages: list[tuple[Any, list[str]]] = []

    def open_(html: str) -> Any:
        path = tmp_path / f"page{len(pages)}.html"
        path.write_text(html, encoding="utf-8")
        page = browser_context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "request",
            lambda req: (
                errors.append(f"request {req.url}") if not req.url.startswith("file:") else None
            ),
        )
        page.goto(path.as_uri())
        page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=60_000)
        pages.append((page, errors))
        return page

    yield open_
    logged = [e for _, errors in pages for e in errors]
    for page, _ in pages:
        page.close()
    assert not logged, f"the page logged JavaScript errors: {logged}"
