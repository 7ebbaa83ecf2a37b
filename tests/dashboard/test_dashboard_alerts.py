"""The dashboard's alert for a service that people wait for while no open counter
serves it (every counter of the service paused or closed), in headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.dashboard.test_dashboard_page import sign_in
from tests.support import FakeClock, LiveServer, wait_for_js


def test_waiting_for_a_service_no_open_counter_serves(
    clocked_server: LiveServer, clock: FakeClock, page: Any, screenshot_dir: Path
) -> None:
    server = clocked_server
    # C is served by counter 4 only; A and B by counters 1 and 2 (and B by 3).
    with server.client("kiosk") as kiosk:
        for service in ("C", "C", "C", "A", "B"):
            assert kiosk.post("/branches/b1/tickets", json={"service": service}).status_code == 201
    with server.client("teller1") as t1, server.client("teller4") as t4:
        assert t1.post("/branches/b1/counters/1/open").status_code == 200
        assert t1.post("/branches/b1/counters/1/call-next").status_code == 200  # A001
        assert t4.post("/branches/b1/counters/4/open").status_code == 200
        assert t4.post("/branches/b1/counters/4/call-next").status_code == 200  # C001
        assert t4.post("/branches/b1/counters/4/complete").status_code == 200
        assert t4.post("/branches/b1/counters/4/pause").status_code == 200
    clock.advance(60)

    sign_in(page, server, "manager")
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    page.wait_for_selector("#live.on", timeout=10000)
    unserved = page.locator("#alerts li.unserved")
    assert unserved.count() == 1  # C only: B waits, but counter 1 (open) serves B
    text = unserved.inner_text()
    assert "C 对公：2 位客户在等候，但没有开放的窗口办理此业务（4号窗口暂停）" in text
    assert "Corporate: 2 waiting, but no open counter serves it (Counter 4 paused)" in text
    page.screenshot(path=str(screenshot_dir / "dashboard-unserved-alert.png"), full_page=True)

    # Live: counter 4 back from its pause clears the alert without a reload ...
    with server.client("teller4") as t4:
        assert t4.post("/branches/b1/counters/4/resume").status_code == 200
    wait_for_js(page, "document.querySelectorAll('#alerts li.unserved').length === 0")
    # ... and counter 1 closing leaves B unserved (counters 1, 2 and 3 closed; nobody
    # waits for A any more).
    with server.client("teller1") as t1:
        assert t1.post("/branches/b1/counters/1/complete").status_code == 200
        assert t1.post("/branches/b1/counters/1/close").status_code == 200
    wait_for_js(page, "document.querySelectorAll('#alerts li.unserved').length === 1")
    text = page.inner_text("#alerts li.unserved")
    assert "B 非现金：1 位客户在等候" in text
    assert "（1号窗口关闭、2号窗口关闭、3号窗口关闭）" in text
    assert "(Counter 1 closed, Counter 2 closed, Counter 3 closed)" in text
