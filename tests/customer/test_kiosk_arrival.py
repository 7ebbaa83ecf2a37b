"""Arrival at the kiosk in Chromium: the booking's QR at the reader (a keyboard wedge
typing fast, then Enter), the last 4 digits of the phone and the customer's masked
name, and the opinion book's button."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.customer.booking_support import TODAY, book, booking_config
from tests.support import KIOSK_TOKEN, FakeClock, LiveServer, live_server, wait_for_js


@pytest.fixture
def arrival_server(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    clock.advance(20 * 60)  # 10:20, inside the early window of the 10:30 slot
    with live_server(booking_config(database_url, tmp_path / "data"), clock) as server:
        yield server


@pytest.fixture
def kiosk(browser: Any, arrival_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{arrival_server.url}/kiosk/b1/k1?token={KIOSK_TOKEN}")
    page.wait_for_selector('body[data-screen="start"]')
    page.errors = errors
    yield page
    context.close()


def lobby_status(server: LiveServer) -> dict[str, str]:
    rows = server.client("teller1").get("/branches/b1/bookings").json()["bookings"]
    return {r["code"]: r["status"] for r in rows}


class TestArrival:
    def test_qr_at_the_reader_checks_in(
        self, arrival_server: LiveServer, kiosk: Any, screenshot_dir: Path, clock: FakeClock
    ) -> None:
        made = book(arrival_server, f"{TODAY}T10:30:00+08:00")
        kiosk.keyboard.type(made["qr_text"], delay=5)  # a wedge: ~5 ms a key
        kiosk.keyboard.press("Enter")
        kiosk.wait_for_selector('body[data-screen="done"]')
        number = kiosk.text_content("#done-number")
        assert number and number.startswith("Y"), "booking priority: the appointment class"
        kiosk.screenshot(path=str(screenshot_dir / "booking-kiosk-scan.png"))
        assert lobby_status(arrival_server)[made["code"]] == "arrived"
        assert kiosk.errors == []

    def test_a_half_read_code_is_dropped(self, arrival_server: LiveServer, kiosk: Any) -> None:
        made = book(arrival_server, f"{TODAY}T10:30:00+08:00")
        kiosk.keyboard.type("LOBBYQ:b1:", delay=5)
        kiosk.wait_for_timeout(1500)  # the reader stopped: what it typed is dropped
        kiosk.keyboard.type(made["code"], delay=5)
        kiosk.keyboard.press("Enter")
        kiosk.wait_for_timeout(500)
        assert lobby_status(arrival_server)[made["code"]] == "expected"

    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_last_four_digits_and_the_name(
        self, arrival_server: LiveServer, kiosk: Any, screenshot_dir: Path, lang: str
    ) -> None:
        mine = book(arrival_server, f"{TODAY}T10:30:00+08:00", name="王芳", phone="13812345678")
        book(arrival_server, f"{TODAY}T10:30:00+08:00", name="赵敏", phone="13912345678")
        if lang == "en":
            kiosk.click("#lang")
        kiosk.click("#path-appointment")
        kiosk.click("#by-phone")
        for digit in "5678":
            kiosk.click(f'.key[data-key="{digit}"]')
        kiosk.click("#keypad-ok")
        kiosk.wait_for_selector('body[data-screen="message"]')
        buttons = kiosk.locator('#message-actions [data-action-label="pick"]')
        assert buttons.count() == 2
        texts = [buttons.nth(i).text_content() for i in range(2)]
        assert any(t.startswith("王*") for t in texts) and any(t.startswith("赵*") for t in texts)
        assert "王芳" not in kiosk.content(), "names masked at the kiosk"
        kiosk.screenshot(path=str(screenshot_dir / f"booking-kiosk-last4-{lang}.png"))
        kiosk.locator("#message-actions button", has_text="王*").click()
        kiosk.wait_for_selector('body[data-screen="done"]')
        assert lobby_status(arrival_server)[mine["code"]] == "arrived"
        assert kiosk.errors == []

    def test_outside_the_window_the_reason_is_said(
        self, arrival_server: LiveServer, kiosk: Any, screenshot_dir: Path
    ) -> None:
        later = book(arrival_server, f"{TODAY}T15:00:00+08:00")
        kiosk.keyboard.type(later["qr_text"], delay=5)
        kiosk.keyboard.press("Enter")
        kiosk.wait_for_selector('body[data-screen="done"]')
        notice = kiosk.text_content("#done-late")
        assert notice and "14:45" in notice and "早到" in notice
        kiosk.screenshot(path=str(screenshot_dir / "booking-kiosk-early.png"))

    def test_suggestions_button_and_back(self, arrival_server: LiveServer, kiosk: Any) -> None:
        kiosk.click("#suggest")
        kiosk.wait_for_selector('body[data-page="suggest"]')
        kiosk.click('#categories [data-code="environment"]')
        kiosk.fill("#text", "空调太冷")
        kiosk.click("#submit")
        kiosk.wait_for_selector("#sent:not([hidden])")
        expect(kiosk.locator("#o-qr")).to_be_visible()
        source = kiosk.get_attribute("#o-qr", "src")
        assert source and source.endswith("/qr.svg")
        qr = httpx.get(source, timeout=60)
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml", qr.text
        # The image may still be decoding after networkidle: wait for it, not a moment.
        wait_for_js(kiosk, "document.getElementById('o-qr').naturalWidth > 0")
        assert not kiosk.errors
        inbox = arrival_server.client("manager").get("/branches/b1/opinions").json()
        assert inbox[0]["source"] == "kiosk" and inbox[0]["text"] == "空调太冷"
        kiosk.click("#back")
        kiosk.wait_for_selector('body[data-screen="start"]')
