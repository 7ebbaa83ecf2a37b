"""/ws/tickets/{token}: the phone's live view of one ticket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support import LiveServer


def ws_url(server: LiveServer, token: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws/tickets/{token}"


def next_ticket(ws: Any) -> dict[str, Any]:
    """The next ticket state (heartbeats skipped)."""
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "ticket":
            return dict(message["data"])


def until_status(ws: Any, status: str) -> dict[str, Any]:
    """Skip states that only refine the estimate, up to the given status."""
    for _ in range(20):
        state = next_ticket(ws)
        if state["status"] == status:
            return state
    raise AssertionError(f"no {status} state")


class TestTicketSocket:
    def test_state_on_connect_then_position_then_call_then_closed(self, server: LiveServer) -> None:
        kiosk = server.client("kiosk")
        first = kiosk.post("/branches/b1/tickets", json={"service": "C"}).json()
        mine = kiosk.post("/branches/b1/tickets", json={"service": "C"}).json()
        with connect(ws_url(server, mine["token"])) as ws:
            state = next_ticket(ws)
            assert state["number"] == mine["number"]
            assert state["status"] == "waiting" and state["position"] == 1
            teller = server.client("teller4")
            teller.post("/branches/b1/counters/4/open").raise_for_status()
            called = teller.post("/branches/b1/counters/4/call-next").json()
            assert called["ticket"]["number"] == first["number"]
            state = next_ticket(ws)
            assert state["position"] == 0
            teller.post("/branches/b1/counters/4/complete", json={}).raise_for_status()
            teller.post("/branches/b1/counters/4/call-next").raise_for_status()
            state = until_status(ws, "called")
            assert state["counter"] == "4" and state["counter_name"]["en"]
            teller.post("/branches/b1/counters/4/complete", json={}).raise_for_status()
            state = until_status(ws, "completed")
            assert state["feedback"] is False
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)  # finished: the server closes the socket

    def test_cancelled_by_the_customer_ends_the_stream(self, server: LiveServer) -> None:
        mine = server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"}).json()
        with connect(ws_url(server, mine["token"])) as ws:
            assert next_ticket(ws)["status"] == "waiting"
            server.client(None).delete(f"/tickets/{mine['token']}").raise_for_status()
            assert until_status(ws, "cancelled")["position"] is None
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)

    def test_unknown_token_gets_an_error_and_a_close(self, server: LiveServer) -> None:
        with connect(ws_url(server, "no-such-ticket")) as ws:
            message = json.loads(ws.recv(timeout=10))
            assert message["type"] == "error"
            assert message["error"]["code"] == "ticket_not_found"
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
