"""The lobby TV page in headless Chromium against the live server: calls made through the
API appear, the notice updates live, the audio plays chime, zh, en in order, and the page
resumes after a drop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lobby_display import voice
from lobby_display.announcer import FakeSynth
from server.config import AppConfig
from tests.support import DISPLAY_TOKEN, LiveServer, live_server, wait_for_js

TIMEOUT_MS = 15000


@pytest.fixture
def tv_server(config: AppConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """The live server with a fast fake voice (real espeak-ng is tested beside)."""
    monkeypatch.setattr(voice, "synth_factory", lambda: FakeSynth(seconds_per_char=0.004))
    with live_server(config) as server:
        yield server


def open_tv(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.url}/display/b1/tv1?token={DISPLAY_TOKEN}")
    wait_for_js(page, "window.lobbyq && window.lobbyq.state.snapshots >= 1", timeout=TIMEOUT_MS)


def issue(server: LiveServer, service: str) -> str:
    with server.client("kiosk") as kiosk:
        response = kiosk.post("/branches/b1/tickets", json={"service": service})
        response.raise_for_status()
        number: str = response.json()["number"]
        return number


def teller(server: LiveServer, who: str, counter: str, action: str) -> dict[str, Any]:
    with server.client(who) as client:
        response = client.post(f"/branches/b1/counters/{counter}/{action}")
        response.raise_for_status()
        return response.json() if response.content else {}


def current_number(page: Any) -> str:
    text: str = page.inner_text("#current-number")
    return text


def test_the_token_becomes_a_cookie_and_leaves_the_address(
    tv_server: LiveServer, page: Any
) -> None:
    open_tv(page, tv_server)
    assert page.url.endswith("/display/b1/tv1")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["lobbyq_device"]["value"] == DISPLAY_TOKEN
    assert cookies["lobbyq_device"]["httpOnly"]
    page.goto(f"{tv_server.url}/display/b1/tv1")  # the cookie alone is enough now
    wait_for_js(page, "window.lobbyq && window.lobbyq.connected", timeout=TIMEOUT_MS)


def test_calls_appear_and_are_announced_chime_zh_en_in_order(
    tv_server: LiveServer, page: Any
) -> None:
    server = tv_server
    teller(server, "teller1", "1", "open")
    teller(server, "teller3", "3", "open")
    issue(server, "A")
    issue(server, "B")
    open_tv(page, server)
    assert page.inner_text("#waiting-list li[data-service='A'] .count") == "1"
    assert page.inner_text("#waiting-list li[data-service='B'] .count") == "1"

    teller(server, "teller1", "1", "call-next")
    wait_for_js(
        page, "document.getElementById('current-number').textContent === 'A001'", timeout=TIMEOUT_MS
    )
    teller(server, "teller3", "3", "call-next")
    wait_for_js(
        page, "document.getElementById('current-number').textContent === 'B001'", timeout=TIMEOUT_MS
    )
    teller(server, "teller3", "3", "recall")
    assert page.inner_text("#current-counter-zh") == "3号窗口"
    assert page.inner_text("#current-counter-en") == "Counter 3"
    assert "flash" in (page.get_attribute("#current", "class") or "")
    assert page.inner_text("#waiting-list li[data-service='A'] .count") == "0"

    # Three calls (A001, B001, B001 again), each chime, zh, en, one after another.
    wait_for_js(page, "window.lobbyq.audioLog.length >= 9", timeout=TIMEOUT_MS * 2)
    played: list[str] = page.evaluate("window.lobbyq.audioLog.slice()")
    recent = page.eval_on_selector_all("#recent-list li .num", "els => els.map(e => e.textContent)")
    assert recent[:3] == ["B001", "B001", "A001"]
    calls = [played[0:3], played[3:6], played[6:9]]
    for call in calls:
        chime, zh, en = call
        assert "/audio/chime-" in chime and zh != en and "chime" not in zh + en
    assert calls[1] == calls[2]  # the recall says it again
    assert calls[0][1:] != calls[1][1:]  # another number, other sentences
    for url in played[:3]:  # what it played is really served
        assert httpx.get(server.url + url, timeout=10).status_code == 200


def test_the_notice_updates_live(tv_server: LiveServer, page: Any) -> None:
    open_tv(page, tv_server)
    assert page.is_hidden("#notice")
    with tv_server.client("manager") as manager:
        manager.put(
            "/branches/b1/notice",
            json={"zh": "今日外币业务暂停", "en": "No foreign currency today"},
        ).raise_for_status()
    wait_for_js(
        page,
        "document.getElementById('notice-zh').textContent === '今日外币业务暂停'",
        timeout=TIMEOUT_MS,
    )
    assert page.inner_text("#notice-en") == "No foreign currency today"
    assert page.is_visible("#notice")
    assert "scrolling" not in (page.get_attribute("#notice-text", "class") or "")
    # A notice longer than the line scrolls instead of being cut off.
    long_zh = "请保管好您的号票，过号请到服务台重新取号。" * 3
    with tv_server.client("manager") as manager:
        manager.put("/branches/b1/notice", json={"zh": long_zh, "en": "Keep your ticket."})
    wait_for_js(
        page,
        "document.getElementById('notice-text').classList.contains('scrolling')",
        timeout=TIMEOUT_MS,
    )


def test_it_resumes_after_a_drop_without_missing_a_call(tv_server: LiveServer, page: Any) -> None:
    server = tv_server
    teller(server, "teller1", "1", "open")
    issue(server, "A")
    issue(server, "A")
    open_tv(page, server)
    page.evaluate("window.lobbyq.reconnect()")
    wait_for_js(page, "!window.lobbyq.connected", timeout=TIMEOUT_MS)
    teller(server, "teller1", "1", "call-next")  # while the TV is away
    wait_for_js(
        page, "document.getElementById('current-number').textContent === 'A001'", timeout=TIMEOUT_MS
    )
    assert page.evaluate("window.lobbyq.state.snapshots") == 1  # resumed with since, no resync
    wait_for_js(page, "window.lobbyq.audioLog.length >= 3", timeout=TIMEOUT_MS)


def test_blocked_autoplay_shows_the_tap_prompt(
    tv_server: LiveServer, page: Any, screenshot_dir: Path
) -> None:
    page.add_init_script(
        """
        (() => {
          const real = HTMLMediaElement.prototype.play;
          window.__allowSound = false;
          HTMLMediaElement.prototype.play = function () {
            if (!window.__allowSound)
              return Promise.reject(new DOMException('blocked', 'NotAllowedError'));
            return real.call(this);
          };
        })();
        """
    )
    teller(tv_server, "teller1", "1", "open")
    issue(tv_server, "A")
    open_tv(page, tv_server)
    teller(tv_server, "teller1", "1", "call-next")
    page.wait_for_selector("#sound-prompt:not([hidden])", timeout=TIMEOUT_MS)
    page.screenshot(path=str(screenshot_dir / "lobby-display-tap-for-sound.png"))
    assert "点击开启声音" in page.inner_text("#sound-prompt")
    assert "Tap to enable sound" in page.inner_text("#sound-prompt")
    assert page.evaluate("window.lobbyq.audioLog.length") == 0
    page.evaluate("window.__allowSound = true")
    page.click("#sound-button")
    wait_for_js(page, "window.lobbyq.audioLog.length >= 3", timeout=TIMEOUT_MS)
    assert page.is_hidden("#sound-prompt")


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [("", 401, "not_authenticated"), ("?token=wrong-token", 403, "invalid_token")],
)
def test_an_unauthorised_display_gets_a_clear_page(
    tv_server: LiveServer, page: Any, query: str, status: int, code: str, screenshot_dir: Path
) -> None:
    response = page.goto(f"{tv_server.url}/display/b1/tv1{query}")
    page.screenshot(path=str(screenshot_dir / f"lobby-display-denied-{status}.png"))
    assert response.status == status
    assert page.get_attribute("main.denied-box", "data-code") == code
    assert "此显示屏未获授权" in page.inner_text("h1")
    assert "not authorised" in page.inner_text("h2")


def test_a_display_token_opens_only_its_own_page(tv_server: LiveServer) -> None:
    response = httpx.get(f"{tv_server.url}/display/b1/tv9?token={DISPLAY_TOKEN}", timeout=10)
    assert response.status_code == 403 and "wrong_display" in response.text
    response = httpx.get(f"{tv_server.url}/display/zz/tv1?token={DISPLAY_TOKEN}", timeout=10)
    assert response.status_code == 404
    staff = tv_server.token("manager")  # staff may preview any display, signed in
    response = httpx.get(f"{tv_server.url}/display/b1/tv9?token={staff}", timeout=10)
    assert response.status_code == 403 and "token_in_address" in response.text  # not so
    signed_in = {"Authorization": f"Bearer {staff}"}
    response = httpx.get(f"{tv_server.url}/display/b1/tv9", headers=signed_in, timeout=10)
    assert response.status_code == 200 and "lobbyq-config" in response.text


def test_screenshot_of_a_busy_lobby(tv_server: LiveServer, page: Any, screenshot_dir: Path) -> None:
    server = tv_server
    with server.client("manager") as manager:
        manager.put(
            "/branches/b1/notice",
            json={"zh": "请保管好您的随身物品，谨防诈骗", "en": "Keep your belongings with you"},
        ).raise_for_status()
    for who, counter in (("teller1", "1"), ("teller2", "2"), ("teller3", "3"), ("teller4", "4")):
        teller(server, who, counter, "open")
    for service in "AAAABBBBBCCAAB":
        issue(server, service)
    for who, counter in (("teller4", "4"), ("teller2", "2"), ("teller3", "3"), ("teller1", "1")):
        teller(server, who, counter, "call-next")
    teller(server, "teller2", "2", "complete")
    teller(server, "teller2", "2", "call-next")
    open_tv(page, server)
    teller(server, "teller1", "1", "complete")
    number = teller(server, "teller1", "1", "call-next")["ticket"]["number"]
    wait_for_js(
        page,
        f"document.getElementById('current-number').textContent === '{number}'",
        timeout=TIMEOUT_MS,
    )
    # The photo shows the calm state between flashes.
    page.evaluate(
        "document.querySelectorAll('.flash, .new, .updated')"
        ".forEach(e => e.classList.remove('flash', 'new', 'updated'))"
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot_dir / "lobby-display-1920x1080.png"))
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
