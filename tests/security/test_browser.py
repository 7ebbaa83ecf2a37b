"""In headless Chromium: a page of another port of the same host (same site, so the
SameSite=Strict cookie IS sent) cannot act with a signed-in teller's or manager's
session, cannot frame the teller page, cannot read the branch's WebSocket; and a
device set up through its form leaves its token in no address of the history."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import CHROMIUM_ARGS
from tests.support import KIOSK_TOKEN, PASSWORDS, LiveServer

TIMEOUT = 20_000

ATTACK = """<!doctype html><meta charset="utf-8"><title>win a prize</title>
<iframe name="sink" id="sink"></iframe>
<iframe id="framed" src="{target}/counter/b1"></iframe>
<form id="plain" method="POST" target="sink" enctype="text/plain"
      action="{target}/api/v1/branches/b1/counters/1/call-next">
  <input name='{{"x":"' value='"}}'></form>
<form id="csv" method="POST" target="sink" enctype="multipart/form-data"
      action="{target}/api/v1/branches/b1/appointments/import">
  <input type="hidden" name="file" value="service,at,code"></form>
<script>
const T = "{target}/api/v1/branches/b1";
const sent = [];
const send = (path, init) => sent.push(fetch(T + path,
  Object.assign({{method: "POST", mode: "no-cors", credentials: "include"}}, init)).catch(() => 0));
send("/counters/1/call-next", {{headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}});
send("/counters/1/call-next", {{}});
send("/counters/1/complete", {{body: new URLSearchParams({{rating: "5"}})}});
send("/appointments", {{headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{service: "A", at: "2026-11-30T03:00:00Z", code: "EVIL1"}})}});
window.socketSaid = "nothing";
const ws = new WebSocket("{ws}/ws/branches/b1");
ws.onmessage = (event) => {{ window.socketSaid = event.data.slice(0, 40); }};
ws.onclose = (event) => {{ window.socketClosed = event.code; }};
document.getElementById("plain").submit();
setTimeout(() => document.getElementById("csv").submit(), 300);
Promise.all(sent).then(() => setTimeout(() => {{ document.title = "done"; }}, 1500));
</script>"""


@pytest.fixture
def attacker(server: LiveServer) -> Iterator[str]:
    """The attacker's page on another port of 127.0.0.1."""
    page = ATTACK.format(target=server.url, ws=server.url.replace("http://", "ws://")).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/counter/b1")
    expect(page.locator("#view-login")).to_be_visible(timeout=TIMEOUT)
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.press("#password", "Enter")
    expect(page.locator("#view-login")).to_be_hidden(timeout=TIMEOUT)


@pytest.mark.parametrize("who", ["teller1", "manager"])
def test_a_same_site_page_of_another_port_changes_nothing(
    server: LiveServer, page: Any, attacker: str, who: str
) -> None:
    with server.client("kiosk") as kiosk, server.client(who) as staff:
        number = kiosk.post("/branches/b1/tickets", json={"service": "A"}).json()["number"]
        assert staff.post("/branches/b1/counters/1/open").status_code == 200
    if who == "manager":
        page.goto(f"{server.url}/dashboard/b1")
        page.fill("#username", who)
        page.fill("#password", PASSWORDS[who])
        page.press("#password", "Enter")
        page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT)
    else:
        sign_in(page, server, who)  # the browser holds the session cookie
    page.goto(attacker)
    expect(page).to_have_title("done", timeout=TIMEOUT)
    with server.client("admin") as admin:
        queue = admin.get("/branches/b1/queue").json()
        waiting = [t["number"] for s in queue["services"] for t in s["waiting"]]
        assert number in waiting  # never called
        counter = next(c for c in queue["counters"] if c["number"] == "1")
        assert counter["current"] is None
        listed = admin.get("/branches/b1/appointments", params={"date": "2026-11-30"})
        assert listed.status_code == 200 and "EVIL1" not in listed.text
    # The teller page cannot be framed; the branch's events cannot be read.
    framed = page.frame_locator("#framed").locator("#view-login, #view-picker")
    assert framed.count() == 0
    assert page.evaluate("window.socketSaid") == "nothing"
    # The same session from the server's own page works: the refusals were CSRF ones.
    page.goto(f"{server.url}/counter/b1")
    status = page.evaluate(
        """async () => (await fetch("/api/v1/branches/b1/counters/1/call-next",
             {method: "POST", credentials: "same-origin"})).status"""
    )
    assert status == 200


def test_a_device_set_up_by_its_form_leaves_no_token_in_the_history(
    server: LiveServer, browser: Any, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
    )
    try:
        page = context.new_page()
        response = page.goto(f"{server.url}/kiosk/b1/k1")
        assert response is not None and response.status == 401
        page.fill("#device-token", "wrong-token-123")
        page.click("#device-setup button")
        expect(page.locator("#device-setup-error")).to_be_visible(timeout=TIMEOUT)
        page.fill("#device-token", KIOSK_TOKEN)
        page.click("#device-setup button")
        page.wait_for_selector("#screen-start:not([hidden]) .service", timeout=TIMEOUT)
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["lobbyq_device"]["httpOnly"]
        page.reload()  # the cookie keeps it set up
        page.wait_for_selector("#screen-start:not([hidden]) .service", timeout=TIMEOUT)
    finally:
        context.close()
    history = next(profile.rglob("History"))
    with sqlite3.connect(history) as db:
        urls = [row[0] for row in db.execute("SELECT url FROM urls")]
    assert any("/kiosk/b1/k1" in url for url in urls)  # the visit is recorded...
    assert not any(KIOSK_TOKEN in url for url in urls)  # ...without the token


def test_every_page_works_under_the_csp(server: LiveServer, page: Any) -> None:
    """No page breaks under the policy: Chromium reports every violation."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{server.url}/dashboard/b1")
    page.fill("#username", "manager")
    page.fill("#password", PASSWORDS["manager"])
    page.press("#password", "Enter")
    page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT)
    page.goto(f"{server.url}/printers/b1")
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=TIMEOUT)
    page.goto(f"{server.url}/display/b1/tv1")  # a manager previews a display
    page.wait_for_selector("#lobbyq-config", state="attached", timeout=TIMEOUT)
    page.goto(f"{server.url}/kiosk/b1/k1?token={KIOSK_TOKEN}")
    page.wait_for_selector("#screen-start:not([hidden]) .service", timeout=TIMEOUT)
    page.goto(f"{server.url}/kiosk/b1/k1")
    assert violations == []
