"""The manager dashboard in headless Chromium after a simulated day, with a live
queue on top (waits past target, an idle counter), and who may open it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.dashboard.simulator import DayPlan, simulate_day
from tests.support import (
    PASSWORDS,
    FakeClock,
    LiveServer,
    drop_database,
    fresh_database_url,
    live_server,
    make_config,
    wait_for_js,
)

pytestmark = pytest.mark.own_database  # makes its own databases: both passes

# The day is simulated first (10:00 on the clock is only where the FakeClock starts);
# then the clock goes to 18:10 local, when a few customers still wait.
EVENING = datetime(2026, 11, 30, 10, 10, tzinfo=UTC)  # 18:10 in Shanghai


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("dashboard")
    url = fresh_database_url(tmp)
    config = make_config(url, tmp / "data")
    clock = FakeClock()
    with live_server(config, clock) as server:
        assert server.store is not None
        branch = config.branches[0]
        simulate_day(
            branch=branch,
            write=server.store.db.write,
            read=server.store.db.read,
            day=EVENING.astimezone(branch.zone).date(),
            plan=DayPlan(seed=5, volume=0.3),
        )
        clock.now = EVENING
        live_queue(server, clock)
        yield server
    drop_database(url)


def live_queue(server: LiveServer, clock: FakeClock) -> None:
    """Counter 1 serving, counter 2 paused, counter 4 open and idle while C waits;
    A tickets waiting 20 minutes, past A's 15-minute target."""
    with server.client("kiosk") as kiosk:
        for service in ("A", "A", "A", "B", "C", "C"):
            assert kiosk.post("/branches/b1/tickets", json={"service": service}).status_code == 201
    clock.advance(20 * 60)
    with server.client("teller1") as t1, server.client("teller2") as t2:
        assert t1.post("/branches/b1/counters/1/open").status_code == 200
        assert t1.post("/branches/b1/counters/1/call-next").status_code == 200
        assert t2.post("/branches/b1/counters/2/open").status_code == 200
        assert t2.post("/branches/b1/counters/2/pause").status_code == 200
    with server.client("teller4") as t4:
        assert t4.post("/branches/b1/counters/4/open").status_code == 200


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/dashboard/b1")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("button[type=submit]")


def test_dashboard_after_a_simulated_day(busy: LiveServer, page: Any, screenshot_dir: Path) -> None:
    sign_in(page, busy, "manager")
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    page.wait_for_selector("#live.on", timeout=10000)  # following the hub
    alerts = page.inner_text("#alerts")
    assert "超过目标 15 分钟" in alerts  # A tickets past target
    assert "waiting past the 15-min target" in alerts
    assert "4号窗口（teller4） 空闲" in alerts.replace("空闲，", "空闲")
    assert "is open and idle while 2 wait" in alerts
    counters = page.inner_text("#counters")
    assert "暂停 Paused" in counters and "teller2" in counters
    assert page.inner_text("#kpi-waiting .value") == "5"
    assert page.inner_text("#kpi-longest .value").startswith("20:")
    served = int(page.inner_text("#kpi-served .value"))
    assert served > 50  # the simulated day
    rows = page.locator("#stats tr")
    assert rows.count() == 3  # services A, B, C
    assert page.get_attribute("#csv", "href").startswith("/api/v1/branches/b1/stats.csv?")
    assert page.evaluate("typeof Chart") == "function"  # served by LobbyQ, no CDN
    page.screenshot(path=str(screenshot_dir / "dashboard.png"), full_page=True)

    # Live: a call at counter 4 clears its idle alert without a reload.
    with busy.client("teller4") as t4:
        assert t4.post("/branches/b1/counters/4/call-next").status_code == 200
    wait_for_js(
        page, "!document.getElementById('alerts').innerText.includes('4号窗口')", timeout=10000
    )

    # Another grouping, then the by-hour table.
    page.select_option("#group-by", "teller")
    wait_for_js(page, "document.getElementById('group-head').innerText.includes('柜员')")
    wait_for_js(page, "document.querySelectorAll('#stats tr').length >= 4")
    page.select_option("#group-by", "hour")
    wait_for_js(page, "document.querySelector('#stats tr td').innerText.includes(':00')")
    page.screenshot(path=str(screenshot_dir / "dashboard-by-hour.png"), full_page=True)


def test_login_form_then_a_teller_is_refused(
    busy: LiveServer, page: Any, screenshot_dir: Path
) -> None:
    page.goto(f"{busy.url}/dashboard/b1")
    assert page.is_visible("form#login")
    page.screenshot(path=str(screenshot_dir / "dashboard-login.png"))
    sign_in(page, busy, "teller1")
    page.wait_for_selector("text=此看板仅限网点经理")
    assert "teller1" in page.inner_text("main")
    page.screenshot(path=str(screenshot_dir / "dashboard-refused.png"))


def test_page_answers_by_role(busy: LiveServer) -> None:
    url = f"{busy.url}/dashboard/b1"
    assert "form" in httpx.get(url).text  # signed out: the login form
    teller = httpx.get(url, headers={"Authorization": f"Bearer {busy.token('teller1')}"})
    assert teller.status_code == 403
    assert "This dashboard is for branch managers" in teller.text
    manager = httpx.get(url, headers={"Authorization": f"Bearer {busy.token('manager')}"})
    assert manager.status_code == 200
    assert "chart.umd.min.js" in manager.text
    assert httpx.get(f"{busy.url}/dashboard/nope").status_code == 404
    assert httpx.get(f"{busy.url}/static/dashboard/vendor/chart.umd.min.js").status_code == 200
    assert httpx.get(f"{busy.url}/static/dashboard/..%2Froutes.py").status_code == 404


def test_summary_needs_a_manager_and_good_dates(busy: LiveServer) -> None:
    with busy.client("teller1") as client:
        assert client.get(f"{busy.url}/dashboard/b1/summary.json").status_code == 403
    with busy.client("manager") as client:
        bad = client.get(f"{busy.url}/dashboard/b1/summary.json", params={"from": "nope"})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_date"
        good = client.get(f"{busy.url}/dashboard/b1/summary.json")
    body = good.json()
    assert body["totals"]["served"] > 50
    assert len(body["service_times"]["labels"]) == 21
    assert (
        sum(sum(s["counts"]) for s in body["service_times"]["series"]) == body["totals"]["served"]
    )
