"""The kit's WebSocket client (server/web/static/live.js) in headless Chromium against
the live server, through a proxy that cuts, refuses and loses like a real network:
snapshot, events in order, a lost message filled, a dropped connection resumed with
since= after a growing backoff that resets on success, and a resync on a fresh
snapshot when the server no longer holds what was missed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import DISPLAY_TOKEN, LiveServer
from tests.web.proxy import DropProxy

TIMEOUT_MS = 20000
HARNESS = """<!doctype html><meta charset="utf-8"><title>live.js</title>
<script src="/static/kit/page.js"></script><script src="/static/kit/live.js"></script>"""
START = """(token) => {
  window.applied = []; window.snapshots = [];
  window.live = LobbyQ.live({
    path: "/ws/branches/b1", token: token, firstDelayMs: 200, maxDelayMs: 1600,
    onSnapshot: (data, m) => { window.snapshots.push(m.seq); window.applied = []; },
    onEvent: (m) => window.applied.push(m.seq),
  });
}"""


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[DropProxy]:
    port = int(server.url.rsplit(":", 1)[1])
    proxy = DropProxy(port, harness=HARNESS.encode())
    yield proxy
    proxy.close()


def issue(server: LiveServer, count: int = 1) -> None:
    with server.client("kiosk") as kiosk:
        for _ in range(count):
            kiosk.post("/branches/b1/tickets", json={"service": "A"}).raise_for_status()


def server_seq(server: LiveServer) -> int:
    with server.client("manager") as http:
        seq: int = http.get("/branches/b1/queue").json()["seq"]
        return seq


def wait_seq(page: Any, seq: int) -> None:
    page.wait_for_function(f"window.live.seq >= {seq}", timeout=TIMEOUT_MS)


def stats(page: Any) -> dict[str, Any]:
    data: dict[str, Any] = page.evaluate("JSON.parse(JSON.stringify(window.live.stats))")
    return data


def contiguous(page: Any, first_snapshot: int) -> list[int]:
    seqs: list[int] = page.evaluate("window.applied.slice()")
    assert seqs == list(range(first_snapshot + 1, first_snapshot + 1 + len(seqs))), seqs
    return seqs


def test_live_js_resumes_fills_gaps_and_backs_off(
    server: LiveServer, proxy: DropProxy, page: Any
) -> None:
    origin = f"http://127.0.0.1:{proxy.port}"
    page.goto(f"{origin}/harness")
    page.evaluate(START, DISPLAY_TOKEN)
    page.wait_for_function(
        "window.snapshots.length === 1 && window.live.connected", timeout=TIMEOUT_MS
    )
    first = page.evaluate("window.snapshots[0]")
    assert first == server_seq(server)

    # Events arrive in order.
    issue(server)
    wait_seq(page, server_seq(server))
    contiguous(page, first)

    # The network goes: every attempt fails and the wait grows (200, 400, 800 ms with
    # jitter: half to all of it); events meanwhile are replayed on the way back.
    before = page.evaluate("window.live.seq")
    delays_before = len(stats(page)["delays"])
    drops = stats(page)["drops"]
    proxy.refuse = True
    proxy.cut()
    page.wait_for_function(f"window.live.stats.drops > {drops}", timeout=TIMEOUT_MS)
    issue(server, 2)
    page.wait_for_function(
        f"window.live.stats.delays.length >= {delays_before + 3}", timeout=TIMEOUT_MS
    )
    delays = stats(page)["delays"][delays_before : delays_before + 3]
    for delay, base in zip(delays, (200, 400, 800), strict=True):
        assert base / 2 <= delay <= base, delays
    proxy.refuse = False
    page.wait_for_function("window.live.connected", timeout=TIMEOUT_MS)
    wait_seq(page, server_seq(server))
    assert f"since={before}" in stats(page)["urls"][-1]
    assert page.evaluate("window.live.attempt") == 0  # reset on success
    assert page.evaluate("window.snapshots.length") == 1
    contiguous(page, first)

    # After that success the next drop starts from the first delay again.
    count = len(stats(page)["delays"])
    proxy.cut()
    page.wait_for_function(f"window.live.stats.delays.length > {count}", timeout=TIMEOUT_MS)
    assert 100 <= stats(page)["delays"][count] <= 200
    page.wait_for_function("window.live.connected", timeout=TIMEOUT_MS)

    # Too far behind for a replay: the server sends a fresh snapshot and the page
    # starts again from it.
    assert server.store is not None
    server.store.realtime.limits.max_replay = 1
    drops = stats(page)["drops"]
    proxy.refuse = True
    proxy.cut()
    page.wait_for_function(f"window.live.stats.drops > {drops}", timeout=TIMEOUT_MS)
    issue(server, 3)
    proxy.refuse = False
    latest = server_seq(server)
    page.wait_for_function("window.snapshots.length === 2", timeout=TIMEOUT_MS)
    assert page.evaluate("window.snapshots[1]") == latest
    assert page.evaluate("window.live.seq") == latest

    # A lost message: the next one shows the hole, the client reconnects with since= at
    # once and the server replays it.
    server.store.realtime.limits.max_replay = 1000
    lost = page.evaluate("window.live.seq") + 2
    proxy.lose.add(lost)
    issue(server, 3)
    wait_seq(page, server_seq(server))
    assert proxy.lost == [lost]
    assert lost in page.evaluate("window.applied")
    assert stats(page)["gaps"] == 1
    assert any(f"since={lost - 1}" in url for url in stats(page)["urls"])
    assert page.evaluate("window.snapshots.length") == 2  # replayed, not resynced
    contiguous(page, page.evaluate("window.snapshots[1]"))


def test_a_refused_stream_asks_the_page(proxy: DropProxy, page: Any) -> None:
    page.goto(f"http://127.0.0.1:{proxy.port}/harness")
    page.evaluate(
        """() => { window.refused = [];
        window.live = LobbyQ.live({path: "/ws/branches/b1", token: "forged",
          onRefused: (code, reason) => { window.refused.push([code, reason]); return null; }}); }"""
    )
    page.wait_for_function("window.refused.length === 1", timeout=TIMEOUT_MS)
    assert page.evaluate("window.refused[0]") == [1008, "invalid_token"]
    page.wait_for_timeout(500)
    assert page.evaluate("window.live.stats.connects") == 1  # null: it does not retry


def test_the_ticket_stream_uses_the_same_client(
    server: LiveServer, proxy: DropProxy, page: Any
) -> None:
    """/ws/tickets/{token} (the mobile ticket): messages without seq go to onMessage,
    its heartbeat to onPing, extra params are sent and no since= is asked for."""
    with server.client("kiosk") as kiosk:
        ticket = kiosk.post("/branches/b1/tickets", json={"service": "A"}).json()
    page.goto(f"http://127.0.0.1:{proxy.port}/harness")
    page.evaluate(
        """(token) => { window.states = [];
        window.live = LobbyQ.live({path: "/ws/tickets/" + token, resume: false,
          params: {client: "phone"}, firstDelayMs: 200, maxDelayMs: 1600,
          onMessage: (m) => { if (m.type === "ticket") window.states.push(m.data.status); }}); }""",
        ticket["token"],
    )
    page.wait_for_function("window.states.length === 1", timeout=TIMEOUT_MS)
    assert page.evaluate("window.states[0]") == "waiting"
    with server.client("teller1") as teller:
        teller.post("/branches/b1/counters/1/open").raise_for_status()
        teller.post("/branches/b1/counters/1/call-next").raise_for_status()
    page.wait_for_function("window.states.includes('called')", timeout=TIMEOUT_MS)

    connects = stats(page)["connects"]
    proxy.cut()
    page.wait_for_function(f"window.live.stats.connects > {connects}", timeout=TIMEOUT_MS)
    page.wait_for_function("window.live.connected", timeout=TIMEOUT_MS)
    urls = stats(page)["urls"]
    assert all("client=phone" in url and "since=" not in url for url in urls), urls
    assert page.evaluate("window.live.seq") == -1
    assert 100 <= stats(page)["delays"][-1] <= 200  # the same backoff as the branch stream


def test_a_filtered_stream_skips_seq_without_reconnecting(
    server: LiveServer, proxy: DropProxy, page: Any
) -> None:
    """fillGaps: false (the counter devices: the server sends them only their counter's
    events, whose seq still counts the branch's): a skip is applied, not refetched."""
    page.goto(f"http://127.0.0.1:{proxy.port}/harness")
    page.evaluate(
        """(token) => { window.applied = [];
        window.live = LobbyQ.live({path: "/ws/branches/b1", token: token, fillGaps: false,
          onEvent: (m) => window.applied.push(m.seq)}); }""",
        DISPLAY_TOKEN,
    )
    page.wait_for_function("window.live.connected", timeout=TIMEOUT_MS)
    lost = page.evaluate("window.live.seq") + 1
    proxy.lose.add(lost)
    issue(server, 3)
    wait_seq(page, server_seq(server))
    assert proxy.lost == [lost]
    assert lost not in page.evaluate("window.applied")
    assert stats(page)["gaps"] == 0 and stats(page)["connects"] == 1
