"""The customer's pages in headless Chromium on a phone (390x844), in Chinese and English:
book a visit, see and cancel it, leave an opinion and read the reply. Hostile text is
shown as text and never runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.customer.booking_support import TODAY, book, booking_config, public
from tests.support import FakeClock, LiveServer, live_server, wait_for_js

PHONE = {"width": 390, "height": 844}
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">😀'


@pytest.fixture
def pages_server(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    with live_server(booking_config(database_url, tmp_path / "data"), clock) as server:
        yield server


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()


def shot(page: Any, screenshot_dir: Path, name: str) -> None:
    page.screenshot(path=str(screenshot_dir / f"booking-{name}.png"), full_page=True)


class TestBookingFlow:
    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_book_then_cancel(
        self, pages_server: LiveServer, phone: Any, screenshot_dir: Path, lang: str
    ) -> None:
        page = phone
        page.goto(f"{pages_server.url}/book/b1?lang={lang}")
        page.click('#services [data-code="B"]')
        page.click(f'#days [data-day="{TODAY}"]')
        page.wait_for_selector(f'#slots [data-at="{TODAY}T11:00:00+08:00"]')
        shot(page, screenshot_dir, f"1-pick-{lang}")
        page.click(f'#slots [data-at="{TODAY}T11:00:00+08:00"]')
        page.fill("#name", HOSTILE if lang == "en" else "王芳")
        page.fill("#phone", "138 1234 5678")
        page.click("#submit")
        page.wait_for_selector("#step-done:not([hidden])")
        code = page.text_content("#b-code")
        assert code and code.isdigit() and len(code) == 6
        assert page.text_content("#b-phone") == "138****5678"
        if lang == "en":
            assert page.text_content("#b-name") == HOSTILE[:20], "shown as text"
            assert page.evaluate("window.__pwned === undefined")
            assert "check in" in page.text_content("#b-window")
            assert page.text_content("h1.page-title:not([hidden]) >> nth=1") == "You are booked"
        else:
            assert "预约成功" in page.inner_text("#step-done")
        assert "13812345678" not in page.content()
        # the QR is served by LobbyQ; it may still be decoding when the text shows
        wait_for_js(page, "document.getElementById('b-qr').naturalWidth > 0")
        shot(page, screenshot_dir, f"2-booked-{lang}")
        ics = httpx.get(page.get_attribute("#b-ics", "href"))
        assert ics.status_code == 200 and b"BEGIN:VEVENT" in ics.content
        assert b"DTSTART:20261130T030000Z" in ics.content
        manage = page.get_attribute("#b-manage", "href")
        page.goto(f"{manage}?lang={lang}")
        page.click("#cancel")
        shot(page, screenshot_dir, f"3-cancel-{lang}")
        page.click("#cancel-yes")
        page.wait_for_selector('#booking-card[data-status="cancelled"]')
        assert page.is_hidden("#cancel-area")
        shot(page, screenshot_dir, f"4-cancelled-{lang}")
        assert page.errors == []

    def test_a_full_slot_is_shown_and_a_conflict_said(
        self, pages_server: LiveServer, phone: Any, screenshot_dir: Path
    ) -> None:
        page = phone
        page.goto(f"{pages_server.url}/book/b1")
        page.click('#services [data-code="B"]')
        slot = f'#slots [data-at="{TODAY}T11:30:00+08:00"]'
        page.wait_for_selector(slot)
        page.click(slot)
        book(pages_server, f"{TODAY}T11:30:00+08:00", service="B", phone="13900000009")
        page.fill("#name", "李雷")
        page.fill("#phone", "13912345678")
        page.click("#submit")
        page.wait_for_selector("#form-error:not([hidden])")
        assert page.text_content("#form-error") == "该时段已约满，请选择其他时段。"
        page.wait_for_selector(f"{slot}:disabled")
        shot(page, screenshot_dir, "5-full-zh")
        page.fill("#phone", "123")
        page.click(f'#slots [data-at="{TODAY}T12:00:00+08:00"]')
        page.click("#submit")
        assert page.text_content("#form-error") == "请填写11位手机号码"


class TestOpinionFlow:
    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_leave_then_read_the_reply(
        self, pages_server: LiveServer, phone: Any, screenshot_dir: Path, lang: str
    ) -> None:
        page = phone
        page.goto(f"{pages_server.url}/suggest/b1?from=mobile&lang={lang}")
        page.click('#categories [data-code="waiting"]')
        text = HOSTILE + " 等候太久"
        page.fill("#text", text)
        page.fill("#contact", "13812345678")
        assert page.text_content("#count") == str(len(text.encode("utf-16-le")) // 2)
        shot(page, screenshot_dir, f"6-suggest-{lang}")
        page.click("#submit")
        page.wait_for_selector("#sent:not([hidden])")
        follow = page.get_attribute("#o-follow", "href")
        assert follow and "/opinion/" in follow
        manager = pages_server.client("manager")
        opinion_id = manager.get("/branches/b1/opinions").json()[0]["id"]
        manager.post(
            f"/branches/b1/opinions/{opinion_id}/reply",
            json={"text": "<b>您好</b>，已增开窗口。Thank you."},
        )
        page.goto(f"{follow}?lang={lang}")
        assert page.text_content("#o-text") == text
        assert page.text_content("#o-reply") == "<b>您好</b>，已增开窗口。Thank you."
        assert page.evaluate("window.__pwned === undefined")
        assert "13812345678" not in page.content()
        expected = "已答复" if lang == "zh" else "Replied"
        assert page.text_content("#o-status") == expected
        shot(page, screenshot_dir, f"7-opinion-{lang}")
        assert page.errors == []

    def test_pages_for_unknown_tokens_are_404(self, pages_server: LiveServer) -> None:
        client = httpx.Client(base_url=pages_server.url, timeout=60)
        for path in (
            "/booking/nope-nope-nope",
            "/opinion/nope-nope-nope",
            "/book/zz",
            "/booking/nope-nope-nope/qr.svg",
            "/booking/nope-nope-nope/visit.ics",
        ):
            assert client.get(path).status_code == 404, path
        assert public(pages_server).get("/branches/b1/booking").status_code == 200
