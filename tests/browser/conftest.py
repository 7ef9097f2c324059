"""Browser tests: Playwright driving Debian's Chromium against a real server process on SQLite and PostgreSQL.

The server and the fixtures share one clock, shifted so that every test starts at SCREEN_TIME: the screenshots in
docs/screenshots/ show the same times on every run (and so change only when a page does). Screenshots are taken at
1440 px wide, on SQLite only (a screen is the same on either database), once every image has loaded, and written
only when a pixel changed; Chromium rasterizes each frame whole (`--disable-partial-raster`), so the same page gives
the same bytes on every run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ordersmith.kernel.clock import ShiftedClock, utcnow
from ordersmith.platform.db import Actor, Database
from tests.support.server import Server, running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The same pixels for the same page on every run: no tile re-rastered in part (a partial raster anti-aliases a
    # rounded corner a shade differently from a whole one), sRGB whatever the host says, grayscale text.
    "--disable-partial-raster",
    "--force-color-profile=srgb",
    "--disable-lcd-text",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREEN = {"width": 1440, "height": 900}  # the size of every screenshot of a console screen (issue 17)
LOADED = (
    "() => document.fonts.status === 'loaded' && Array.from(document.images).every(image => image.complete)"
)


def save_screenshot(page: Any, path: Path, viewport: dict[str, int] = SCREEN) -> None:
    """What `page` shows at `viewport`, saved to `path` once its images and fonts have loaded (animations stopped,
    no caret); the file is rewritten only when its bytes change, and only from tests on SQLite (`page` fixture).
    Only when `ORDERSMITH_SCREENSHOTS=1` (`make screenshots`): a screenshot is for the docs, and taking them cost the
    suite about a quarter of its browser time."""
    if os.environ.get("ORDERSMITH_SCREENSHOTS") != "1" or not getattr(page, "takes_screenshots", True):
        return
    if page.viewport_size != viewport:
        page.set_viewport_size(viewport)
    page.wait_for_function(LOADED)
    png = page.screenshot(animations="disabled", caret="hide", full_page=False)
    if not path.exists() or path.read_bytes() != png:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)


@pytest.fixture
def browser_db_url(db_url: str) -> str:
    """The console's flows run in the browser against a server on SQLite and on PostgreSQL (the shared `db_url`)."""
    return db_url


@pytest.fixture
def browser_db(browser_db_url: str) -> Iterator[Database]:
    db = Database(browser_db_url)
    yield db
    db.dispose()


SCREEN_TIME = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # what the screens' clocks read when a test starts


@pytest.fixture
def clock_offset() -> timedelta:
    """One shift for the test's server and its fixtures (whole seconds, so both compute the same clock)."""
    return timedelta(seconds=round((SCREEN_TIME - utcnow()).total_seconds()))


@pytest.fixture
def fixture_uow(browser_db: Database, clock_offset: timedelta):
    return browser_db.unit_of_work(Actor.system("fixture"), clock=ShiftedClock(clock_offset))


@pytest.fixture
def server(browser_db_url: str, tmp_path: Path, clock_offset: timedelta) -> Iterator[Server]:
    offset = str(clock_offset.total_seconds())
    with running_server(browser_db_url, tmp_path / "server.log", clock_offset_s=offset) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One Chromium for the whole run (launching it takes seconds); each test gets a fresh context of its own,
    which shares no cookies, storage or cache with any other."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(server: Server, chromium: Any, browser_db_url: str) -> Iterator[Any]:
    context = chromium.new_context(base_url=server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.takes_screenshots = browser_db_url.startswith("sqlite")  # read by save_screenshot
    yield page
    context.close()
