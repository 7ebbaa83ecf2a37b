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
from sqlmodel import select

from server.customer.webhook import Webhooks, claim_notification
from server.models import Ticket
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

    def wait_for_number(self, number: str, timeout_s: float = 10) -> list[str]:
        """The numbers received, once `number` is among them."""
        with self.changed:
            self.changed.wait_for(
                lambda: any(p["number"] == number for p in self.received), timeout_s
            )
            return [p["number"] for p in self.received]

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


def issue_c(server: LiveServer, n: int) -> list[dict[str, Any]]:
    kiosk = server.client("kiosk")
    return [kiosk.post("/branches/b1/tickets", json={"service": "C"}).json() for _ in range(n)]


def serve_next(server: LiveServer) -> None:
    """Counter 4 (service C only) completes what it holds and calls the next ticket."""
    teller = server.client("teller4")
    teller.post("/branches/b1/counters/4/open")  # 409 when already open: fine
    teller.post("/branches/b1/counters/4/complete", json={})  # 409 when nothing held: fine
    teller.post("/branches/b1/counters/4/call-next").raise_for_status()


def webhooks_of(server: LiveServer) -> Webhooks:
    assert server.store is not None
    notifier = server.store.ports.notifier
    assert isinstance(notifier, Webhooks)
    return notifier


class TestWebhookSentOnce:
    """Which tickets were sent is in the database: no second SMS after a restart, from a
    second process, or when two processes see the same ticket due at the same moment."""

    def test_a_restart_does_not_send_again(
        self, database_url: str, tmp_path: Path, gateway: Gateway
    ) -> None:
        config = make_config(
            database_url, tmp_path / "data", webhook_url=gateway.url, webhook_places_before=2
        )
        with live_server(config) as first:
            tickets = issue_c(first, 5)
            serve_next(first)  # 0 called: 3 has two ahead
            assert gateway.wait_for_number(tickets[3]["number"]) == [tickets[3]["number"]]
        with live_server(config) as restarted:
            # 1 called: 3 is still due (one ahead) but was sent; 4 becomes due (two ahead).
            serve_next(restarted)
            received = gateway.wait_for_number(tickets[4]["number"])
            assert received == [tickets[3]["number"], tickets[4]["number"]]
            with restarted.store.read() as session:  # type: ignore[union-attr]
                rows = {t.number: t for t in session.exec(select(Ticket))}
            assert rows[tickets[3]["number"]].notified_at is not None
            assert rows[tickets[2]["number"]].notified_at is None  # at the kiosk: not sent

    def test_a_second_process_on_the_same_database_does_not_send_again(
        self, database_url: str, tmp_path: Path, gateway: Gateway
    ) -> None:
        config = make_config(
            database_url, tmp_path / "data", webhook_url=gateway.url, webhook_places_before=2
        )
        with live_server(config) as one, live_server(config) as two:
            tickets = issue_c(one, 6)
            serve_next(one)
            assert gateway.wait_for_number(tickets[3]["number"]) == [tickets[3]["number"]]
            serve_next(two)  # the other process sees 3 and 4 due: it sends 4 only
            numbers = [tickets[3]["number"], tickets[4]["number"]]
            assert gateway.wait_for_number(tickets[4]["number"]) == numbers
            serve_next(one)  # and back: 5 only
            numbers.append(tickets[5]["number"])
            assert gateway.wait_for_number(tickets[5]["number"]) == numbers

    def test_two_processes_racing_send_once(
        self, database_url: str, tmp_path: Path, gateway: Gateway
    ) -> None:
        config = make_config(
            database_url, tmp_path / "data", webhook_url=gateway.url, webhook_places_before=2
        )
        with live_server(config) as one, live_server(config) as two:
            tickets = issue_c(one, 5)  # nobody is due yet: 3 and 4 have 3 and 4 ahead
            webhooks_of(one).stop()  # the checks after issuing are over (restarts on an event)
            both_read = threading.Barrier(2, timeout=10)
            claimed: list[list[str]] = []
            done = threading.Condition()
            for hooks in (webhooks_of(one), webhooks_of(two)):
                # Each process reads the line, then waits for the other to have read it
                # too: both see ticket 3 due and not yet sent, then both try to claim it.
                def due(branch: Any, now: Any, _due: Any = hooks.due) -> list[tuple[Ticket, int]]:
                    out: list[tuple[Ticket, int]] = _due(branch, now)
                    both_read.wait()
                    return out

                def claim(due: Any, now: Any, _claim: Any = hooks.claim) -> Any:
                    won = _claim(due, now)
                    with done:
                        claimed.append([t.number for t, _ in won])
                        done.notify_all()
                    return won

                hooks.due = due  # type: ignore[method-assign]
                hooks.claim = claim  # type: ignore[method-assign]
            # Process one checks in its webhook thread after the call; process two at once.
            serve_next(one)
            webhooks_of(two)._check("b1")
            with done:
                assert done.wait_for(lambda: len(claimed) == 2, 10)
            assert sorted(claimed, key=len) == [[], [tickets[3]["number"]]]
            assert gateway.wait_for_number(tickets[3]["number"]) == [tickets[3]["number"]]

    def test_claim_is_conditional(self, server: LiveServer) -> None:
        ticket = server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"}).json()
        assert server.store is not None
        now = server.store.now()
        with server.store.db.write() as session:
            assert claim_notification(session=session, ticket_id=ticket["id"], now=now)
        with server.store.db.write() as session:
            assert not claim_notification(session=session, ticket_id=ticket["id"], now=now)
