"""The teller page in headless Chromium: a teller's whole day by keyboard, each
action also seen by a lobby display on the WebSocket; reloads, second tabs and a
lost connection never show a wrong state; a second teller gets a clear refusal."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from server.config import AppConfig, parse_config
from tests.counter_client.conftest import DisplayFeed, issue
from tests.support import BASE_CONFIG, PASSWORDS, FakeClock, LiveServer, live_server

TIMEOUT = 15_000


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/counter/b1")
    expect(page.locator("#view-login")).to_be_visible(timeout=TIMEOUT)
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.press("#password", "Enter")


def shows(page: Any, number: str, status: str) -> None:
    expect(page.locator("#t-number")).to_have_text(number, timeout=TIMEOUT)
    expect(page.locator("#ticket")).to_have_class(f"ticket {status}", timeout=TIMEOUT)


def message(page: Any, text: str) -> None:
    expect(page.locator("#message")).to_contain_text(text, timeout=TIMEOUT)


def test_a_tellers_whole_day(
    clocked_server: LiveServer, clock: FakeClock, page: Any, screenshot_dir: Path
) -> None:
    server = clocked_server
    a1, vip, a3, b1 = (
        issue(server, "A"),
        issue(server, "A", "vip"),
        issue(server, "A"),
        issue(server, "B"),
    )
    clock.advance(60)  # now VIP ranks first, then the normal tickets by number
    with server.client("teller2") as teller2:
        assert teller2.post("/branches/b1/counters/3/open").status_code == 200
    display = DisplayFeed(server)
    try:
        sign_in(page, server, "teller1")
        expect(page.locator("#view-picker")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(".counter-choice.taken")).to_contain_text("teller2")
        page.screenshot(path=str(screenshot_dir / "counter-picker-1920.png"))

        # counter 3 is teller2's: a clear refusal, in Chinese and English
        page.keyboard.press("3")
        message(page, "teller2 is signed in at counter 3")
        message(page, "teller2 已在 3 号窗口登录")
        expect(page.locator("#view-picker")).to_be_visible()

        page.keyboard.press("1")
        expect(page.locator("#view-desk")).to_be_visible(timeout=TIMEOUT)
        assert display.next_of("counter.updated")["data"]["state"] == "open"
        expect(page.locator("#link")).to_contain_text("Live", timeout=TIMEOUT)
        expect(page.locator("#w-list li")).to_have_count(4, timeout=TIMEOUT)
        assert page.locator("#w-list li").evaluate_all(
            "items => items.map(i => i.dataset.number)"
        ) == [vip, a1, a3, b1]
        expect(page.locator("#t-number")).to_have_text("空闲")
        # The server's clock is 02:01 UTC: the header shows the branch's time, Shanghai.
        expect(page.locator("#clock")).to_have_text(re.compile(r"^10:0\d:\d\d$"))
        page.screenshot(path=str(screenshot_dir / "counter-idle-1920.png"))

        # F1 next: the VIP
        page.keyboard.press("F1")
        shows(page, vip, "called")
        expect(page.locator("#t-priority")).to_have_text("贵宾 VIP")
        expect(page.locator("#t-service")).to_contain_text("个人现金 · Cash")
        called = display.next_of("ticket.called", vip)
        assert called["data"]["counter"] == "1" and called["data"]["priority"] == "vip"
        expect(page.locator("#w-list li")).to_have_count(3)
        page.screenshot(path=str(screenshot_dir / "counter-called-1920.png"))

        page.keyboard.press("F2")
        display.next_of("ticket.recalled", vip)
        expect(page.locator("#t-facts")).to_contain_text("Recalls 1", timeout=TIMEOUT)

        page.keyboard.press("F3")
        display.next_of("ticket.started", vip)
        shows(page, vip, "serving")
        clock.advance(150)

        # a reload mid-ticket shows the same state, read from the server
        page.reload()
        expect(page.locator("#view-desk")).to_be_visible(timeout=TIMEOUT)
        shows(page, vip, "serving")
        expect(page.locator("#t-timer-label")).to_contain_text("Service time")
        expect(page.locator("#t-timer")).to_have_text("02:30", timeout=TIMEOUT)

        page.set_viewport_size({"width": 1366, "height": 768})
        page.screenshot(path=str(screenshot_dir / "counter-serving-1366.png"))
        page.set_viewport_size({"width": 1920, "height": 1080})

        # F4 completes at once: the teller no longer rates for the customer. F10 asks
        # the counter's rating pad to show the rating buttons for that ticket.
        page.keyboard.press("F4")
        assert display.next_of("ticket.completed", vip)["data"]["teller_rating"] is None
        expect(page.locator("#dlg-rating")).to_have_count(0)
        page.keyboard.press("F10")
        assert display.next_of("rating.requested", vip)["data"]["counter"] == "1"
        message(page, f"Rating pad asks the customer for {vip}")
        page.screenshot(path=str(screenshot_dir / "counter-ask-rating-1920.png"))
        expect(page.locator("#ticket")).to_have_class("ticket idle", timeout=TIMEOUT)
        expect(page.locator("#s-served")).to_have_text("1", timeout=TIMEOUT)
        expect(page.locator("#s-avg")).to_have_text("02:30")

        # F1 then F5: no-show
        page.keyboard.press("F1")
        shows(page, a1, "called")
        display.next_of("ticket.called", a1)
        page.keyboard.press("F5")
        display.next_of("ticket.no_show", a1)
        expect(page.locator("#ticket")).to_have_class("ticket idle", timeout=TIMEOUT)

        # F1 then F6: transfer to service B, place kept
        page.keyboard.press("F1")
        shows(page, a3, "called")
        display.next_of("ticket.called", a3)
        page.keyboard.press("F6")
        expect(page.locator("#dlg-transfer")).to_be_visible()
        page.screenshot(path=str(screenshot_dir / "counter-transfer-1920.png"))
        labels = page.locator("#transfer-choices button b").all_inner_texts()
        page.keyboard.press(str(labels.index("业务 非现金") + 1))
        moved = display.next_of("ticket.transferred", a3)["data"]
        assert (moved["to_service"], moved["keep_place"]) == ("B", True)
        message(page, f"{a3} transferred to Service: Non-cash")

        # F7: call a number (typed without its letter: the one waiting ticket ending in 1)
        page.keyboard.press("F7")
        expect(page.locator("#call-number")).to_be_focused()
        page.keyboard.type(b1[-1])
        page.keyboard.press("Enter")
        shows(page, b1, "called")
        display.next_of("ticket.called", b1)
        page.keyboard.press("F4")
        display.next_of("ticket.completed", b1)

        # F8 pause: F1 is refused with the server's reason; F8 resume
        page.keyboard.press("F8")
        assert display.next_of("counter.updated")["data"]["state"] == "paused"
        expect(page.locator("#counter-state")).to_have_text("暂停 Paused", timeout=TIMEOUT)
        expect(page.locator("#pause-en")).to_have_text("Resume")
        page.screenshot(path=str(screenshot_dir / "counter-paused-1920.png"))
        page.keyboard.press("F1")
        message(page, "counter 1 is paused")
        message(page, "窗口已暂停")
        page.keyboard.press("F8")
        assert display.next_of("counter.updated")["data"]["state"] == "open"
        expect(page.locator("#counter-state")).to_have_text("服务中 Open", timeout=TIMEOUT)

        page.keyboard.press("F1")
        shows(page, a3, "called")  # the transferred ticket, now in B
        page.keyboard.press("F4")
        display.next_of("ticket.completed", a3)
        expect(page.locator("#s-served")).to_have_text("3", timeout=TIMEOUT)
        page.keyboard.press("F1")
        message(page, "Nobody is waiting")
        message(page, "当前没有等候的客户")

        # F9 close, confirmed with Enter: back to the picker, counter 1 free again
        page.keyboard.press("F9")
        expect(page.locator("#dlg-close")).to_be_visible()
        page.keyboard.press("Enter")
        assert display.next_of("counter.updated")["data"]["state"] == "closed"
        expect(page.locator("#view-picker")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(".counter-choice.free")).to_have_count(3)
    finally:
        display.close()
    with server.client("manager") as manager:
        rows = manager.get("/branches/b1/counters").json()
    assert rows[0]["state"] == "closed" and rows[0]["username"] is None


def test_second_tab_and_lost_connection_follow_the_server(
    server: LiveServer, browser: Any, screenshot_dir: Path
) -> None:
    number = issue(server, "A")
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        first = context.new_page()
        sign_in(first, server, "teller1")
        expect(first.locator("#view-picker")).to_be_visible(timeout=TIMEOUT)
        first.keyboard.press("1")
        expect(first.locator("#view-desk")).to_be_visible(timeout=TIMEOUT)
        # a second tab of the same teller opens straight at counter 1
        second = context.new_page()
        second.goto(f"{server.url}/counter/b1")
        expect(second.locator("#view-desk")).to_be_visible(timeout=TIMEOUT)
        expect(second.locator("#link")).to_contain_text("Live", timeout=TIMEOUT)
        first.keyboard.press("F1")
        shows(first, number, "called")
        shows(second, number, "called")  # from the WebSocket event
        # a third tab whose WebSocket never connects: it polls and still shows the truth
        third = context.new_page()
        third.add_init_script("window.WebSocket = function () { throw new Error('down'); };")
        third.goto(f"{server.url}/counter/b1")
        shows(third, number, "called")
        expect(third.locator("#link")).to_contain_text("Polling")
        with server.client("teller1") as api:
            assert api.post("/branches/b1/counters/1/start").status_code == 200
        shows(second, number, "serving")
        shows(third, number, "serving")
        third.screenshot(path=str(screenshot_dir / "counter-polling-1366.png"))
        # closed from elsewhere (another tab): the other tabs go back to the picker
        with server.client("teller1") as api:
            assert api.post("/branches/b1/counters/1/complete").status_code == 200
            assert api.post("/branches/b1/counters/1/close").status_code == 200
        expect(second.locator("#view-picker")).to_be_visible(timeout=TIMEOUT)
        expect(third.locator("#view-picker")).to_be_visible(timeout=TIMEOUT)
    finally:
        context.close()


def named_tellers(database_url: str, data_dir: Path) -> AppConfig:
    """The test config, with the tellers' display names (as a bank writes them)."""
    data = copy.deepcopy(BASE_CONFIG)
    data["server"].update(database_url=database_url, data_dir=str(data_dir))
    names = {"teller1": "李娜", "teller2": "张伟"}
    for user in data["users"]:
        user["display_name"] = names.get(user["username"], "")
    return parse_config(data, source="<test>")


def test_second_teller_is_refused_and_a_bearer_token_signs_in(
    database_url: str, tmp_path: Path, page: Any, browser: Any, screenshot_dir: Path
) -> None:
    with live_server(named_tellers(database_url, tmp_path / "data")) as server:
        # A staff token in the address is dropped, not taken: 李娜 signs in
        page.goto(f"{server.url}/counter/b1?token={server.token('teller1')}")
        expect(page.locator("#view-login")).to_be_visible(timeout=TIMEOUT)
        assert page.url == f"{server.url}/counter/b1"
        sign_in(page, server, "teller1")
        expect(page.locator("#view-picker")).to_be_visible(timeout=TIMEOUT)
        page.keyboard.press("2")
        expect(page.locator("#view-desk")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#teller-name")).to_have_text("李娜 (teller1)", timeout=TIMEOUT)
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        try:
            other = context.new_page()
            sign_in(other, server, "teller2")
            expect(other.locator("#view-picker")).to_be_visible(timeout=TIMEOUT)
            taken = other.locator('.counter-choice[data-counter="2"]')
            expect(taken).to_contain_text("李娜 已登录")
            taken.click()
            message(other, "李娜 is signed in at counter 2")
            message(other, "李娜 已在 2 号窗口登录")
            other.screenshot(path=str(screenshot_dir / "counter-taken-1920.png"))
            # a wrong password is refused clearly too
            other.click("#logout")
            expect(other.locator("#view-login")).to_be_visible(timeout=TIMEOUT)
            other.fill("#username", "teller2")
            other.fill("#password", "not-the-password")
            other.press("#password", "Enter")
            message(other, "用户名或密码错误")
            message(other, "wrong username or password")
            other.screenshot(path=str(screenshot_dir / "counter-login-1920.png"))
        finally:
            context.close()
