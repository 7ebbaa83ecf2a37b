"""The customer opinion book, and the branch webhook fired N places before a call."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import LiveServer, live_server, make_config


def serve_one(server: LiveServer, counter: str = "1") -> dict[str, Any]:
    """Issue a ticket and take it through call and complete at a counter."""
    ticket = server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"}).json()
    teller = server.client("teller1")
    teller.post(f"/branches/b1/counters/{counter}/open").raise_for_status()
    teller.post(f"/branches/b1/counters/{counter}/call-next").raise_for_status()
    teller.post(f"/branches/b1/counters/{counter}/complete", json={}).raise_for_status()
    return dict(ticket)


class TestFeedback:
    def test_once_after_completion_kept_with_the_ticket(self, server: LiveServer) -> None:
        kiosk = server.client("kiosk")
        waiting = kiosk.post("/branches/b1/tickets", json={"service": "C"}).json()
        public = server.client(None)
        early = public.post(f"/tickets/{waiting['token']}/feedback", json={"rating": 5})
        assert early.status_code == 409 and early.json()["error"]["code"] == "not_completed"

        done = serve_one(server)
        url = f"/tickets/{done['token']}/feedback"
        assert public.post(url, json={}).status_code == 422
        assert public.post(url, json={"rating": 6}).status_code == 422
        assert public.post(url, json={"comment": "x" * 501}).status_code == 422
        assert public.post(url, json={"comment": "nul\x00"}).status_code == 422
        response = public.post(url, json={"rating": 4, "comment": "  柜员很耐心 <b>谢谢</b> "})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "number": done["number"],
            "rating": 4,
            "comment": "柜员很耐心 <b>谢谢</b>",
        }
        again = public.post(url, json={"rating": 1})
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
        assert public.get(f"/tickets/{done['token']}").json()["rating"] == 4
        assert public.post("/tickets/nope/feedback", json={"rating": 3}).status_code == 404

    def test_branch_without_ratings_refuses(self, database_url: str, tmp_path: Path) -> None:
        config = make_config(database_url, tmp_path / "data", ratings_enabled=False)
        with live_server(config) as server:
            done = serve_one(server)
            response = server.client(None).post(
                f"/tickets/{done['token']}/feedback", json={"rating": 5}
            )
            assert response.status_code == 403


class Gateway:
    """A local HTTP server playing the SMS gateway."""

    def __init__(self, status: int = 200, hold: bool = False) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Event()  # a request came in
        self.released = threading.Event()  # answer held requests
        if not hold:
            self.released.set()
        self.changed = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.arrived.set()
                outer.released.wait(30)
                with outer.changed:
                    outer.received.append(json.loads(body))
                    outer.changed.notify_all()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n: int, timeout_s: float = 10) -> list[dict[str, Any]]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.received) >= n, timeout_s)
            return list(self.received)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.stop()


class TestWebhook:
    def test_fired_once_when_n_places_before_the_call(
        self, database_url: str, tmp_path: Path, gateway: Gateway
    ) -> None:
        config = make_config(
            database_url, tmp_path / "data", webhook_url=gateway.url, webhook_places_before=2
        )
        with live_server(config) as server:
            kiosk = server.client("kiosk")
            tickets = [
                kiosk.post(
                    "/branches/b1/tickets", json={"service": "C", "customer_ref": f"1380000000{i}"}
                ).json()
                for i in range(5)
            ]
            # At issue, tickets 0..2 already had <= 2 ahead: their customers are at the kiosk.
            teller = server.client("teller4")
            teller.post("/branches/b1/counters/4/open").raise_for_status()
            teller.post("/branches/b1/counters/4/call-next").raise_for_status()
            [first] = gateway.wait_for(1)
            assert first["number"] == tickets[3]["number"]
            assert first["people_ahead"] == 2 and first["places_before"] == 2
            assert first["customer_ref"] == "13800000003"
            assert first["event"] == "ticket.approaching" and first["token"] == tickets[3]["token"]
            teller.post("/branches/b1/counters/4/complete", json={}).raise_for_status()
            teller.post("/branches/b1/counters/4/call-next").raise_for_status()
            second = gateway.wait_for(2)
            assert [p["number"] for p in second] == [tickets[3]["number"], tickets[4]["number"]]
            teller.post("/branches/b1/counters/4/complete", json={}).raise_for_status()
            teller.post("/branches/b1/counters/4/call-next").raise_for_status()
            time.sleep(0.5)  # nothing more should come: each ticket is sent once
            assert len(gateway.received) == 2

    def test_a_hanging_gateway_never_blocks_a_call(self, database_url: str, tmp_path: Path) -> None:
        held = Gateway(status=500, hold=True)
        try:
            config = make_config(
                database_url, tmp_path / "data", webhook_url=held.url, webhook_places_before=1
            )
            with live_server(config) as server:
                kiosk = server.client("kiosk")
                for _ in range(4):
                    kiosk.post("/branches/b1/tickets", json={"service": "C"}).raise_for_status()
                teller = server.client("teller4")
                teller.post("/branches/b1/counters/4/open").raise_for_status()
                teller.post("/branches/b1/counters/4/call-next").raise_for_status()
                assert held.arrived.wait(10), "the webhook was sent"
                # The gateway holds its answer; calls and the API go on regardless.
                teller.post("/branches/b1/counters/4/complete", json={}).raise_for_status()
                teller.post("/branches/b1/counters/4/call-next").raise_for_status()
                assert httpx.get(f"{server.api}/health").status_code == 200
                assert not held.released.is_set() and held.received == []
                held.released.set()
                assert len(held.wait_for(1)) >= 1
        finally:
            held.released.set()
            held.stop()
