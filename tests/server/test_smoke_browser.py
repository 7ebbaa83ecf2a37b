"""The browser fixture works with Debian's Chromium and shows Chinese text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import LiveServer


def test_docs_page_opens_in_chromium(server: LiveServer, page: Any, screenshot_dir: Path) -> None:
    page.goto(f"{server.url}/docs")
    page.wait_for_selector("text=LobbyQ")
    page.screenshot(path=str(screenshot_dir / "api-docs.png"))
    assert "LobbyQ" in page.title()
