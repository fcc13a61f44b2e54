"""Browser fixtures: Debian's Chromium driven by Playwright, against a real instance server.

Nothing here skips: a missing browser is a failure that says how to install it, so a green
run always means the browser tests ran.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fedcoop.app import make_app
from fedcoop.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium_path() -> str:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `sh scripts/ensure-test-deps.sh` "
            "(as root, or install Debian's `chromium` package) and run the tests again.",
            pytrace=False,
        )
    return str(CHROMIUM)


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def live_url(aiohttp_server: Any, settings: Settings) -> str:
    """Base URL of a real instance server listening on 127.0.0.1 (a free port)."""
    server = await aiohttp_server(make_app(settings), host="127.0.0.1")
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def page(browser: Any, live_url: str) -> AsyncIterator[Any]:
    """A fresh browser tab that may only reach the test server: anything else is aborted."""
    context = await browser.new_context()

    async def loopback_only(route: Any) -> None:
        if route.request.url.startswith(live_url + "/"):
            await route.continue_()
        else:
            await route.abort()

    await context.route("**/*", loopback_only)
    tab = await context.new_page()
    try:
        yield tab
    finally:
        await context.close()
