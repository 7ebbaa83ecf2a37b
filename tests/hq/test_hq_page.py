"""The /hq page in headless Chromium: sign-in, the regional's branches live (a ticket
issued shows within seconds), sorting, zh/en, the comparison and its CSV link, and
who is refused."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.hq.conftest import REGIONAL
from tests.hq.test_overview import fill, issue
from tests.support import PASSWORDS, FakeClock, LiveServer


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/hq")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("button[type=submit]")


def branch_order(page: Any) -> list[str]:
    order: list[str] = page.eval_on_selector_all(
        "#overview tbody tr", "rows => rows.map(r => r.dataset.branch)"
    )
    return order


def test_hq_page_live_sortable_bilingual(
    hq: LiveServer, clock: FakeClock, page: Any, screenshot_dir: Path
) -> None:
    fill(hq, clock)
    sign_in(page, hq, REGIONAL)
    page.wait_for_selector("#overview tbody tr[data-branch='b02']", timeout=15000)
    assert sorted(branch_order(page)) == ["b01", "b02"]  # b03 is not the regional's
    row = page.inner_text("#overview tr[data-branch='b01']")
    assert "福田支行" in row and "22:00" in row and "50.0%" in row  # longest wait, satisfied
    assert "没有开放的窗口" in page.inner_text("#overview tr[data-branch='b02']")
    page.wait_for_selector("#comparison tbody tr[data-branch='b01']", timeout=15000)
    page.screenshot(path=str(screenshot_dir / "hq-zh.png"), full_page=True)

    # Live: a ticket issued now shows within a few seconds (the page polls every 1 s).
    issue(hq, "b02", "C", "kiosk-token-1")
    cell = "#overview tr[data-branch='b02'] td:nth-child(2)"
    deadline = time.monotonic() + 5  # the CSP forbids wait_for_function's eval: poll
    while page.inner_text(cell) != "2" and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.inner_text(cell) == "2"

    # Sorting: a click sorts by a column (most first), a second click reverses it.
    page.click("#overview th[data-key='longest_wait_s']")
    assert branch_order(page) == ["b01", "b02"]  # 22 min before a fresh ticket
    page.click("#overview th[data-key='longest_wait_s']")
    assert branch_order(page) == ["b02", "b01"]
    assert page.get_attribute("#overview th[data-key='longest_wait_s']", "aria-sort") == "ascending"
    page.click("#overview th[data-key='served_today']")
    assert branch_order(page) == ["b01", "b02"]  # 2 served before 0
    assert page.get_attribute("#overview th[data-key='served_today']", "aria-sort") == "descending"

    # English.
    page.click("#lang")
    assert page.inner_text("#overview th[data-key='waiting']") == "Waiting"
    assert "Futian" in page.inner_text("#overview tr[data-branch='b01']")
    assert "no open counter" in page.inner_text("#overview tr[data-branch='b02']")
    assert "Avg wait" in page.inner_text("#comparison thead")
    href = page.get_attribute("#csv", "href")
    assert href.startswith("/api/v1/overview/compare.csv?from=")
    page.screenshot(path=str(screenshot_dir / "hq-en.png"), full_page=True)


def test_hq_page_refuses_a_manager(hq: LiveServer, page: Any) -> None:
    sign_in(page, hq, "manager")
    page.wait_for_selector("main.refused", timeout=15000)
    assert "仅限区域经理和管理员" in page.inner_text("main")
