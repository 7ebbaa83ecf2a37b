"""Shared fixtures: a fresh database per test, a config, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import AppConfig
from tests.support import (
    PG_ADMIN_URL,
    FakeClock,
    LiveServer,
    drop_database,
    fresh_database_url,
    make_config,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass (LOBBYQ_TEST_POSTGRES set) runs the tests that use a
    database of the pass: those whose fixtures include `database_url`, and those
    marked `own_database` (they call fresh_database_url themselves). The others —
    printers, voice, the page kit's files, and the scale tests that always run on
    Postgres (`pg_url`) — do not depend on the pass and already ran in the SQLite
    pass; running them twice only made CI slower. They are deselected, not skipped."""
    if not PG_ADMIN_URL:
        return
    keep: list[pytest.Item] = []
    other: list[pytest.Item] = []
    for item in items:
        uses_pass = "database_url" in getattr(item, "fixturenames", ())
        (keep if uses_pass or item.get_closest_marker("own_database") else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = keep


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashes() -> Iterator[None]:
    """argon2 is slow on purpose (~0.3 s a hash); every test server creates the same
    six users, so tests hash each password once and reuse it (the verify path is real)."""
    import functools

    import server.bootstrap

    original = server.bootstrap.hash_password  # type: ignore[attr-defined]
    server.bootstrap.hash_password = functools.lru_cache(maxsize=None)(original)  # type: ignore[attr-defined]
    yield
    server.bootstrap.hash_password = original  # type: ignore[attr-defined]


#: How long a test's HTTP call may wait for an answer. Tests assert no timing; httpx's
#: default (5 s) was one, and failed tests by ReadTimeout when a loaded CI machine held
#: a request for seconds. A hang is still caught, by pytest-timeout (300 s a test).
HTTP_TIMEOUT_S = 60.0


@pytest.fixture(autouse=True, scope="session")
def _patient_http_clients() -> Iterator[None]:
    """Every `httpx.get(...)` and `httpx.Client()` a test makes without a timeout of its
    own takes httpx's default object, which is changed here in place (its functions bind
    that object as the default argument, so rebinding the name would change nothing)."""
    from httpx import _config

    default = _config.DEFAULT_TIMEOUT_CONFIG
    saved = (default.connect, default.read, default.write, default.pool)
    default.connect = default.read = default.write = default.pool = HTTP_TIMEOUT_S
    yield
    default.connect, default.read, default.write, default.pool = saved


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    url = fresh_database_url(tmp_path)
    yield url
    drop_database(url)


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> AppConfig:
    return make_config(database_url, tmp_path / "data")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(config: AppConfig) -> Iterator[LiveServer]:
    live = LiveServer(config=config).start()
    yield live
    live.stop()


@pytest.fixture
def clocked_server(config: AppConfig, clock: FakeClock) -> Iterator[LiveServer]:
    live = LiveServer(config=config, clock=clock).start()
    yield live
    live.stop()


# --- headless Chromium (Debian's), shared by the page tests ---------------------------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies) at 1920x1080."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
