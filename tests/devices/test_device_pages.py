"""The hall's pages in headless Chromium at their real sizes, with screenshots in
test-artifacts/screenshots: the counter sign (1280x320, 1920x360), the rating pad
(800x1280, 1280x800), the lobby tablet (1280x800), the TV with its boards
(1920x1080) and the dashboard's hall panels; and a whole counter cycle against the
real server: call -> the sign shows it -> complete -> the pad asks -> the customer
rates -> the statistics by teller show it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.devices.helpers import COUNTER_TOKENS, counter_headers, image_bytes
from tests.devices.test_boards_slides import RATES
from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, PASSWORDS, FakeClock, LiveServer

TIMEOUT = 20_000


def context(browser: Any, width: int, height: int) -> Any:
    return browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")


def open_device(
    browser: Any, hall: LiveServer, page_path: str, counter: str, size: tuple[int, int]
) -> Any:
    ctx = context(browser, *size)
    page = ctx.new_page()
    page.goto(f"{hall.url}/{page_path}/b1/{counter}?token={COUNTER_TOKENS[counter]}")
    assert "token=" not in page.url  # kept in the cookie, dropped from the address
    expect(page.locator("#link")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    return page


def until(page: Any, predicate: str, timeout_s: float = TIMEOUT / 1000) -> None:
    """Poll a page's state with evaluate: wait_for_function compiles its predicate with
    eval in the page, which the pages' CSP forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"never true: {predicate}"
        time.sleep(0.1)


def teller(hall: LiveServer, who: str = "teller1") -> httpx.Client:
    return hall.client(who)


def issue(hall: LiveServer, service: str = "A") -> str:
    with hall.client("kiosk") as kiosk:
        answer = kiosk.post("/branches/b1/tickets", json={"service": service, "print": False})
        answer.raise_for_status()
        return str(answer.json()["number"])


def test_a_whole_counter_cycle(
    hall: LiveServer, clock: FakeClock, browser: Any, screenshot_dir: Path
) -> None:
    with hall.client("manager") as manager:
        photo = image_bytes("JPEG", (600, 800), "#3a6ea5")
        manager.put(
            "/users/teller1/photo", files={"file": ("li.jpg", photo, "image/jpeg")}
        ).raise_for_status()
    sign = open_device(browser, hall, "counter-sign", "1", (1280, 320))
    pad = open_device(browser, hall, "rate", "1", (800, 1280))
    try:
        expect(sign.locator("#state-zh")).to_have_text("已关闭")
        expect(sign.locator("#state-en")).to_have_text("Closed")
        sign.screenshot(path=str(screenshot_dir / "sign-closed-1280x320.png"))

        number = issue(hall)
        with teller(hall) as desk:
            desk.post("/branches/b1/counters/1/open").raise_for_status()
            expect(sign.locator("#state-box")).to_be_hidden(timeout=TIMEOUT)
            expect(pad.locator("#teller-name")).to_have_text("李娜", timeout=TIMEOUT)
            expect(pad.locator("#staff-no")).to_contain_text("0213")
            expect(pad.locator("#photo-img")).to_be_visible()
            pad.screenshot(path=str(screenshot_dir / "pad-idle-800x1280.png"))

            desk.post("/branches/b1/counters/1/call-next").raise_for_status()
            expect(sign.locator("#number")).to_have_text(number, timeout=TIMEOUT)
            expect(sign.locator("#teller")).to_contain_text("李娜 · 工号 0213")
            sign.screenshot(path=str(screenshot_dir / "sign-serving-1280x320.png"))
            clock.advance(240)
            desk.post("/branches/b1/counters/1/complete").raise_for_status()

        # The pad asks the customer at once after the completion.
        expect(pad.locator("#rate")).to_be_visible(timeout=TIMEOUT)
        expect(pad.locator("#rate-number")).to_have_text(number)
        expect(sign.locator("#number")).to_have_text("—", timeout=TIMEOUT)
        pad.screenshot(path=str(screenshot_dir / "pad-rate-800x1280.png"))
        pad.click("#choices button[data-rating='2']")
        expect(pad.locator("#reasons")).to_be_visible()
        pad.click("#chips button[data-reason='waited_too_long']")
        expect(pad.locator("#chips button[data-reason='waited_too_long']")).to_have_attribute(
            "aria-pressed", "true"
        )
        pad.screenshot(path=str(screenshot_dir / "pad-reasons-800x1280.png"))
        pad.click("#submit-reasons")
        expect(pad.locator("#thanks")).to_be_visible(timeout=TIMEOUT)
        pad.screenshot(path=str(screenshot_dir / "pad-thanks-800x1280.png"))

        with hall.client("manager") as manager:
            rows = manager.get(
                "/branches/b1/stats",
                params={"from": "2026-11-30", "to": "2026-11-30", "group_by": "teller"},
            ).json()["rows"]
        mine = next(r for r in rows if r["key"] == "teller1")
        assert (mine["served"], mine["ratings"], mine["rating_avg"]) == (1, 1, 2)
        assert mine["satisfied_pct"] == 0.0
        expect(pad.locator("#idle")).to_be_visible(timeout=TIMEOUT)  # back after the thanks

        # Paused: the sign says so in both languages.
        with teller(hall) as desk:
            desk.post("/branches/b1/counters/1/pause").raise_for_status()
        expect(sign.locator("#state-zh")).to_have_text("暂停服务", timeout=TIMEOUT)
        expect(sign.locator("#state-en")).to_have_text("Paused")
        sign.screenshot(path=str(screenshot_dir / "sign-paused-1280x320.png"))
    finally:
        sign.context.close()
        pad.context.close()


def test_the_sign_at_1920x360_and_when_the_server_goes(
    hall: LiveServer, browser: Any, screenshot_dir: Path
) -> None:
    number = issue(hall, "B")
    with teller(hall, "teller3") as desk:
        desk.post("/branches/b1/counters/3/open").raise_for_status()
        desk.post("/branches/b1/counters/3/call-next").raise_for_status()
    sign = open_device(browser, hall, "counter-sign", "3", (1920, 360))
    try:
        expect(sign.locator("#number")).to_have_text(number, timeout=TIMEOUT)
        # Readable from 8 m: the number is at least half the strip's height.
        height = sign.locator("#number").evaluate("n => parseFloat(getComputedStyle(n).fontSize)")
        assert height >= 180
        box = sign.locator("#number").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1920
        sign.screenshot(path=str(screenshot_dir / "sign-serving-1920x360.png"))
        with teller(hall, "teller3") as desk:
            desk.post("/branches/b1/counters/3/recall").raise_for_status()
        expect(sign.locator("#serving")).to_have_class("serving flash", timeout=TIMEOUT)
        hall.stop()
        expect(sign.locator("#link")).to_have_attribute(
            "data-state", "reconnecting", timeout=TIMEOUT
        )
        expect(sign.locator("#link-text")).to_contain_text("Reconnecting")
        expect(sign.locator("#number")).to_have_text(number)  # the last state stays up
        sign.screenshot(path=str(screenshot_dir / "sign-reconnecting-1920x360.png"))
    finally:
        sign.context.close()


def test_a_device_page_of_counter_3_is_refused_on_counter_4(hall: LiveServer, browser: Any) -> None:
    ctx = context(browser, 1280, 320)
    page = ctx.new_page()
    try:
        answer = page.goto(f"{hall.url}/counter-sign/b1/4?token={COUNTER_TOKENS['3']}")
        assert answer is not None and answer.status == 403
        expect(page.locator("h1")).to_have_text("此设备属于另一个窗口")
        expect(page.locator(".en")).to_have_text("This device belongs to another counter.")
        assert page.goto(f"{hall.url}/rate/b1/4").status == 401  # no token at all
        staff = page.goto(f"{hall.url}/rate/b1/4?token={hall.token('manager')}")
        assert staff is not None and staff.status == 403  # never a staff token in an address
    finally:
        ctx.close()
    with httpx.Client(base_url=hall.api, headers=counter_headers("3")) as device:
        assert device.get("/branches/b1/counters/4/device").status_code == 403


def test_the_pad_landscape_ask_rating_and_the_30_second_timeout(
    hall: LiveServer, browser: Any, screenshot_dir: Path
) -> None:
    number = issue(hall, "C")
    ctx = context(browser, 1280, 800)
    pad = ctx.new_page()
    pad.clock.install()
    try:
        pad.goto(f"{hall.url}/rate/b1/4?token={COUNTER_TOKENS['4']}")
        expect(pad.locator("#link")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
        with teller(hall, "teller4") as desk:
            desk.post("/branches/b1/counters/4/open").raise_for_status()
            expect(pad.locator("#teller-name")).to_have_text("teller4", timeout=TIMEOUT)
            pad.screenshot(path=str(screenshot_dir / "pad-idle-1280x800.png"))
            desk.post("/branches/b1/counters/4/call-next").raise_for_status()
            desk.post("/branches/b1/counters/4/complete").raise_for_status()
            expect(pad.locator("#rate")).to_be_visible(timeout=TIMEOUT)
            pad.screenshot(path=str(screenshot_dir / "pad-rate-1280x800.png"))
            # Nobody touches it: back to the teller's card after 30 s.
            pad.clock.fast_forward("00:31")
            expect(pad.locator("#idle")).to_be_visible(timeout=TIMEOUT)
            # The teller asks again (请评价): the pad shows the same ticket.
            desk.post("/branches/b1/counters/4/ask-rating").raise_for_status()
        expect(pad.locator("#rate")).to_be_visible(timeout=TIMEOUT)
        expect(pad.locator("#rate-number")).to_have_text(number)
        pad.click("#choices button[data-rating='5']")
        expect(pad.locator("#thanks")).to_be_visible(timeout=TIMEOUT)
        pad.screenshot(path=str(screenshot_dir / "pad-thanks-1280x800.png"))
    finally:
        ctx.close()


def test_the_lobby_tablet(hall: LiveServer, browser: Any, screenshot_dir: Path) -> None:
    with hall.client("manager") as manager:
        manager.post(
            "/branches/b1/appointments",
            json={
                "service": "B",
                "at": "2026-11-30 09:30",
                "code": "555555",
                "customer_name": "王先生",
            },
        ).raise_for_status()
    waiting = issue(hall, "A")
    ctx = context(browser, 1280, 800)
    page = ctx.new_page()
    try:
        page.goto(f"{hall.url}/lobby/b1")
        page.fill("#username", "lobby1")
        page.fill("#password", PASSWORDS["lobby1"])
        page.click("#login button[type=submit]")
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
        expect(page.locator("#appointments .appt.late")).to_contain_text("王先生", timeout=TIMEOUT)
        # A VIP by card, shown as a QR for the phone.
        page.click("#services button[data-service='A']")
        page.click("#priorities button[data-priority='vip']")
        page.fill("#customer-ref", "VIP001")
        page.check("#out-qr")
        page.click("#issue")
        expect(page.locator("#result-number")).to_have_text("VA002", timeout=TIMEOUT)
        expect(page.locator("#result-qr")).to_be_visible()
        expect(page.locator("#arrivals")).to_contain_text("VA002", timeout=TIMEOUT)
        page.click("#services button[data-service='A']")
        page.click("#priorities button[data-priority='vip']")
        page.fill("#customer-ref", "NOPE")
        page.click("#issue")
        # Staff may give VIP without a card check: the rule is the API's, not the page's.
        expect(page.locator("#result-number")).to_have_text("VA003", timeout=TIMEOUT)
        # Move the waiting A ticket to B, place kept.
        page.click(f"#waits button[data-number='{waiting}']")
        expect(page.locator("#move")).to_be_visible()
        page.screenshot(path=str(screenshot_dir / "lobby-move-1280x800.png"))
        page.click("#move-services button[data-service='B']")
        expect(page.locator("#toast")).to_contain_text("moved to Non-cash", timeout=TIMEOUT)
        page.screenshot(path=str(screenshot_dir / "lobby-1280x800.png"))
        with hall.client() as public:
            assert public.get("/branches/b1/services").json()[1]["waiting"] == 1
    finally:
        ctx.close()


def test_the_tv_shows_the_boards_and_gives_the_call_the_whole_screen(
    hall: LiveServer, browser: Any, screenshot_dir: Path
) -> None:
    with hall.client("manager") as manager:
        manager.put("/branches/b1/boards/rates", json=RATES).raise_for_status()
    ctx = context(browser, 1920, 1080)
    tv = ctx.new_page()
    try:
        tv.goto(f"{hall.url}/display/b1/tv1?token={DISPLAY_TOKEN}")
        expect(tv.locator("#info-rates")).to_be_visible(timeout=TIMEOUT)
        expect(tv.locator("#rates-body tr")).to_have_count(2)
        with hall.client("manager") as manager:
            bulletin = {"items": [{"zh": "本周六正常营业", "en": "Open this Saturday"}]}
            manager.put("/branches/b1/boards/bulletin", json=bulletin).raise_for_status()
            slide = image_bytes("PNG", (1280, 720), "#d0453a")
            manager.post(
                "/branches/b1/slides", files={"file": ("s.png", slide, "image/png")}
            ).raise_for_status()
        until(tv, "() => window.lobbyqInfo.state.pages.length === 3")
        tv.screenshot(path=str(screenshot_dir / "tv-queue-board-1920x1080.png"))
        tv.evaluate("() => window.lobbyqInfo.next()")
        tv.evaluate("() => window.lobbyqInfo.next()")
        expect(tv.locator("#info-slide")).to_be_visible()
        tv.screenshot(path=str(screenshot_dir / "tv-queue-slide-1920x1080.png"))

        number = issue(hall)
        with teller(hall) as desk:
            desk.post("/branches/b1/counters/1/open").raise_for_status()
            desk.post("/branches/b1/counters/1/call-next").raise_for_status()
        expect(tv.locator("body")).to_have_class(
            "layout-queue-board-slides calling", timeout=TIMEOUT
        )
        expect(tv.locator("#current-number")).to_have_text(number)
        box = tv.locator("#current").bounding_box()
        assert box is not None and box["width"] == 1920 and box["height"] == 1080
        tv.screenshot(path=str(screenshot_dir / "tv-call-fullscreen-1920x1080.png"))
        # ...and the layout returns after the announcement.
        expect(tv.locator("body")).to_have_class("layout-queue-board-slides", timeout=TIMEOUT)
        expect(tv.locator("#info")).to_be_visible()
        current = tv.locator("#current").bounding_box()
        info = tv.locator("#info").bounding_box()
        assert current is not None and info is not None
        assert current["x"] + current["width"] <= info["x"]  # never covered by the boards
    finally:
        ctx.close()


def test_the_dashboards_hall_panels(
    hall: LiveServer, clock: FakeClock, browser: Any, screenshot_dir: Path
) -> None:
    sign = open_device(browser, hall, "counter-sign", "2", (1280, 320))
    sign.context.close()  # connected once, now gone
    with hall.client("manager") as manager:
        deadline_ok = False
        for _ in range(200):
            devices = manager.get("/branches/b1/devices").json()["devices"]
            if any(
                d["device"] == "sign:c2" and not d["online"] and d["last_connected_at"]
                for d in devices
            ):
                deadline_ok = True
                break
            time.sleep(0.1)
        assert deadline_ok
    clock.advance(150)
    ctx = context(browser, 1920, 1080)
    page = ctx.new_page()
    try:
        page.goto(f"{hall.url}/dashboard/b1")
        page.fill("#username", "manager")
        page.fill("#password", PASSWORDS["manager"])
        page.click("button[type=submit]")
        expect(page.locator("#device-alerts li[data-device='sign:c2']")).to_contain_text(
            "设备离线", timeout=TIMEOUT
        )
        expect(page.locator("#device-alerts li[data-device='sign:c2']")).to_contain_text(
            "Device offline: Counter 2 sign, offline for 2 min"
        )
        expect(page.locator("#staff figure[data-user='teller1']")).to_contain_text("0213")
        page.fill("#bulletin-text", "明日休息 | Closed tomorrow")
        page.click("#bulletin-form button[type=submit]")
        expect(page.locator("#bulletin-status")).to_contain_text("Saved", timeout=TIMEOUT)
        page.locator("#hall-devices").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / "dashboard-hall-1920.png"), full_page=True)
    finally:
        ctx.close()
    with hall.client() as public:
        assert public.get("/branches/b1/boards/bulletin").json()["items"] == [
            {"zh": "明日休息", "en": "Closed tomorrow"}
        ]


def test_every_device_reports_its_link(hall: LiveServer, browser: Any) -> None:
    """The kiosk, the TV, the sign, the pad and the lobby tablet each show as online while
    their page is open (device health). One browser context each: a device is a browser
    of its own, with its own cookie."""
    pages = {
        "kiosk:k1": f"/kiosk/b1/k1?token={KIOSK_TOKEN}",
        "display:tv1": f"/display/b1/tv1?token={DISPLAY_TOKEN}",
        "sign:c2": f"/counter-sign/b1/2?token={COUNTER_TOKENS['2']}",
        "pad:c2": f"/rate/b1/2?token={COUNTER_TOKENS['2']}",
        "lobby:lobby1": "/lobby/b1",
    }
    contexts = [context(browser, 1280, 800) for _ in pages]
    try:
        for ctx, address in zip(contexts, pages.values(), strict=True):
            page = ctx.new_page()
            page.goto(hall.url + address)
        page.fill("#username", "lobby1")  # the tablet signs in; the others are devices
        page.fill("#password", PASSWORDS["lobby1"])
        page.click("#login button[type=submit]")
        with hall.client("manager") as manager:
            deadline = time.monotonic() + 30
            while True:
                answer = manager.get("/branches/b1/devices").json()
                rows = {d["device"]: d for d in answer["devices"]}
                if all(rows.get(device, {}).get("online") for device in pages):
                    break
                assert time.monotonic() < deadline, {d: rows.get(d) for d in pages}
                time.sleep(0.2)
        assert rows["lobby:lobby1"]["kind"] == "lobby" and rows["kiosk:k1"]["kind"] == "kiosk"
    finally:
        for ctx in contexts:
            ctx.close()


def test_a_sign_is_set_up_with_no_token_in_any_address(hall: LiveServer, browser: Any) -> None:
    """The sign's refusal page takes the token in a form (POST /auth/device), as the
    kiosk's and the TV's do: the token never shows in an address or the history."""
    ctx = context(browser, 1280, 320)
    page = ctx.new_page()
    try:
        page.goto(f"{hall.url}/counter-sign/b1/1")
        page.fill("#device-token", COUNTER_TOKENS["1"])
        page.click("#device-setup button[type=submit]")
        expect(page.locator("#link")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
        expect(page.locator("#counter-zh")).to_have_text("1号窗口")
        assert "token" not in page.url
    finally:
        ctx.close()
