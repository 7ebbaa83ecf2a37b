"""The manager's bookings and opinion book page in Chromium: capacity used per slot and
service, blocking a slot, the inbox (masked list, whole contact in the detail), a reply
the customer then reads, the overdue alert, and hostile text shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.customer.booking_support import TODAY, book, booking_config, public
from tests.dashboard.test_dashboard_page import sign_in
from tests.support import FakeClock, LiveServer, live_server

HOSTILE = '<img src=x onerror="window.__pwned=1">\u202eevil'


@pytest.fixture
def manager_server(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    with live_server(booking_config(database_url, tmp_path / "data"), clock) as server:
        yield server


def test_calendar_inbox_reply_and_overdue(
    manager_server: LiveServer, page: Any, screenshot_dir: Path, clock: FakeClock
) -> None:
    book(manager_server, f"{TODAY}T11:00:00+08:00", service="B", name="王芳")
    book(manager_server, f"{TODAY}T11:00:00+08:00", name="李雷", phone="13912345678")
    client = public(manager_server)
    refused = client.post(
        "/branches/b1/opinions", json={"category": "other", "text": HOSTILE, "contact": "x"}
    )
    assert refused.status_code == 422, "bidi overrides are refused"
    made = client.post(
        "/branches/b1/opinions",
        json={
            "category": "attitude",
            "text": '<img src=x onerror="window.__pwned=1"> 柜员态度差 😠',
            "contact": "13812345678",
        },
    ).json()
    clock.advance(timedelta(days=4).total_seconds())  # Friday: two business days passed
    sign_in(page, manager_server, "manager")
    page.wait_for_selector('body[data-ready="1"]')
    page.click("#customers-link")
    page.wait_for_selector('body.customers[data-ready="1"]')
    # The clock moved to Friday; look at Monday's calendar.
    page.fill("#cal-date", TODAY)
    page.dispatch_event("#cal-date", "change")
    eleven = f'#cal-body tr[data-at="{TODAY}T11:00:00+08:00"]'
    page.wait_for_selector(eleven)
    assert page.text_content(f'{eleven} td[data-service="B"]') == "1 / 1"
    assert page.text_content(f'{eleven} td[data-service="A"]') == "1 / 2"
    assert "139****5678" in page.text_content("#bookings")
    assert "13912345678" not in page.content()
    page.click(f'#cal-body tr[data-at="{TODAY}T14:00:00+08:00"] button')
    page.wait_for_selector(f'#cal-body tr.blocked[data-at="{TODAY}T14:00:00+08:00"]')
    assert page.locator("#overdue li.bad").count() == 1
    assert made["code"] in page.text_content("#overdue")
    assert "138****5678" in page.text_content("#inbox"), "masked in the list"
    page.click(f"#inbox tr[data-id] >> text={made['code']}")
    page.wait_for_selector("#detail-body:not([hidden])")
    expect(page.locator("#d-contact")).to_have_text("13812345678")
    page.screenshot(path=str(screenshot_dir / "booking-manager.png"), full_page=True)
    page.fill("#reply", "您好，已对该柜员进行提醒，感谢您的监督。")
    page.click("#reply-form button[type=submit]")
    expect(page.locator("#d-status")).to_contain_text("Replied")
    page.wait_for_selector("#overdue li.ok")
    assert page.evaluate("window.__pwned === undefined")
    history = page.text_content("#d-history")
    assert "manager" in history and "答复" in history
    follow = client.get("/opinions/" + made["follow_url"].rsplit("/", 1)[1]).json()
    assert follow["reply"] == "您好，已对该柜员进行提醒，感谢您的监督。"


def test_tellers_are_refused(manager_server: LiveServer, page: Any) -> None:
    sign_in(page, manager_server, "teller1")
    page.wait_for_selector("main.refused")  # signed in, and refused the dashboard
    page.goto(f"{manager_server.url}/dashboard/b1/customers")
    page.wait_for_selector("main.refused")
    assert page.locator("#inbox").count() == 0
