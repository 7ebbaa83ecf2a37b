"""The mobile ticket page /t/{token} on a phone-sized Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from printers.layout import format_wait_range
from tests.support import LiveServer, wait_for_js

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    page = context.new_page()
    page.add_init_script(
        """
        window.__vibrations = [];
        navigator.vibrate = (p) => { window.__vibrations.push(p); return true; };
        """
    )
    yield page
    context.close()


def test_updates_live_when_called_then_takes_feedback(
    server: LiveServer, phone: Any, screenshot_dir: Path
) -> None:
    kiosk = server.client("kiosk")
    ahead = kiosk.post("/branches/b1/tickets", json={"service": "C"}).json()
    mine = kiosk.post("/branches/b1/tickets", json={"service": "C"}).json()
    phone.goto(mine["track_url"])
    phone.wait_for_selector("#live.on")
    assert phone.inner_text("#number") == mine["number"]
    assert phone.inner_text("#position") == "1"
    # The promised range in the printed ticket's words (the catalogues' `wait` part).
    zh_words = format_wait_range(*mine["estimated_wait_range_s"]).split(" / ")[0]
    assert phone.inner_text("#wait") == zh_words
    phone.screenshot(path=str(screenshot_dir / "mobile-ticket-waiting.png"))

    teller = server.client("teller4")
    teller.post("/branches/b1/counters/4/open").raise_for_status()
    assert (
        teller.post("/branches/b1/counters/4/call-next").json()["ticket"]["number"]
        == ahead["number"]
    )
    wait_for_js(phone, "document.getElementById('position').textContent === '0'")
    teller.post("/branches/b1/counters/4/complete", json={}).raise_for_status()
    teller.post("/branches/b1/counters/4/call-next").raise_for_status()
    phone.wait_for_selector("#called:not([hidden])")
    assert "4" in phone.inner_text("#counter")
    assert phone.evaluate("window.__vibrations.length") >= 1, "the phone vibrates on the call"
    phone.screenshot(path=str(screenshot_dir / "mobile-ticket-called.png"))

    teller.post("/branches/b1/counters/4/complete", json={}).raise_for_status()
    phone.wait_for_selector("#feedback:not([hidden])")
    phone.click("#send")
    assert phone.is_visible("#feedback-error")  # nothing chosen yet
    phone.click(".star[data-rating='5']")
    phone.fill("#comment", "服务很好，谢谢！<script>alert(1)</script>")
    phone.screenshot(path=str(screenshot_dir / "mobile-ticket-feedback.png"))
    phone.click("#send")
    phone.wait_for_selector("#thanks:not([hidden])")
    phone.screenshot(path=str(screenshot_dir / "mobile-ticket-thanks.png"))
    public = server.client(None).get(f"/tickets/{mine['token']}").json()
    assert public["rating"] == 5
    # Reloaded later: the thanks, not the form again; the comment is text, not markup.
    phone.reload()
    phone.wait_for_selector("#thanks:not([hidden])")
    assert phone.is_hidden("#feedback")


def test_cancel_from_the_phone_in_english(
    server: LiveServer, phone: Any, screenshot_dir: Path
) -> None:
    mine = server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"}).json()
    phone.goto(mine["track_url"])
    phone.click("#lang")
    phone.wait_for_selector("text=Cancel my ticket")
    phone.click("#cancel")
    phone.wait_for_selector("#confirm:not([hidden])")
    phone.screenshot(path=str(screenshot_dir / "mobile-ticket-cancel-confirm-en.png"))
    phone.click("#cancel-yes")
    phone.wait_for_selector("#card[data-status='cancelled']")
    assert "cancelled" in phone.inner_text("#status").lower()
    assert server.client(None).get(f"/tickets/{mine['token']}").json()["status"] == "cancelled"


def test_unknown_ticket_page(server: LiveServer, phone: Any) -> None:
    response = phone.goto(f"{server.url}/t/not-a-ticket")
    assert response.status == 404
    assert phone.is_visible("text=Ticket not found")
