"""Small routes of the kiosk package: QR codes, static files, metrics."""

from __future__ import annotations

import httpx

from tests.support import LiveServer


def test_qr_only_for_this_servers_ticket_addresses(server: LiveServer) -> None:
    ticket = server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"}).json()
    ok = httpx.get(f"{server.url}/kiosk/qr.svg", params={"data": ticket["track_url"]})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in ok.content
    for data in (
        "https://evil.example/t/abc",
        f"{server.url}/kiosk/b1/k1",
        f"{server.url}/t/../admin",
        f"{server.url}/t/" + "a" * 65,
        "",
    ):
        refused = httpx.get(f"{server.url}/kiosk/qr.svg", params={"data": data})
        assert refused.status_code == 422, data
        assert "error" in refused.json()


def test_static_files_and_no_traversal(server: LiveServer) -> None:
    js = httpx.get(f"{server.url}/static/kiosk/kiosk.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    for name in ("../routes.py", "..%2Froutes.py", "nope.js", "kiosk.py"):
        assert httpx.get(f"{server.url}/static/kiosk/{name}").status_code == 404


def test_printer_metrics(server: LiveServer) -> None:
    text = httpx.get(f"{server.api}/metrics").text
    assert 'lobbyq_printer_queue_length{branch="b1",printer="p1"}' in text
    assert "lobbyq_printer_online" in text
