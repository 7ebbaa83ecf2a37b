"""`/ws/branches/{b}` with a real websockets client against the live server."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from server.config import AppConfig
from tests.realtime.conftest import (
    Connect,
    call_next,
    issue,
    open_counter,
    receive,
    with_second_branch,
)
from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, LiveServer, live_server


def wait_for(condition: object, timeout: float = 10) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class TestSnapshotThenEvents:
    def test_first_message_is_the_snapshot(self, server: LiveServer, ws: Connect) -> None:
        issue(server, "A")
        with ws(server, token=DISPLAY_TOKEN) as connection:
            first = receive(connection)
        assert first["type"] == "snapshot"
        assert first["seq"] == first["data"]["seq"] >= 1
        services = {s["code"]: s for s in first["data"]["services"]}
        assert [t["number"] for t in services["A"]["waiting"]] == ["A001"]

    def test_events_arrive_in_seq_order_after_calls_through_the_api(
        self, server: LiveServer, ws: Connect
    ) -> None:
        open_counter(server, "teller1", "1")
        with ws(server, token=DISPLAY_TOKEN) as connection:
            snapshot = receive(connection)
            issue(server, "A")
            issue(server, "B")
            call_next(server, "teller1", "1")
            messages = [receive(connection) for _ in range(3)]
        assert [m["type"] for m in messages] == ["ticket.issued", "ticket.issued", "ticket.called"]
        assert [m["seq"] for m in messages] == [snapshot["seq"] + i for i in (1, 2, 3)]
        called = messages[2]["data"]
        assert called["number"] == "A001" and called["counter"] == "1"
        assert set(called["announcement"]["text"]) == {"zh", "en"}

    def test_staff_and_kiosk_tokens_and_the_device_cookie_are_accepted(
        self, server: LiveServer, ws: Connect
    ) -> None:
        with ws(server, token=server.token("teller2")) as connection:
            assert receive(connection)["type"] == "snapshot"
        with ws(server, token=KIOSK_TOKEN) as connection:
            assert receive(connection)["type"] == "snapshot"
        with ws(server, headers={"Cookie": f"lobbyq_device={DISPLAY_TOKEN}"}) as connection:
            assert receive(connection)["type"] == "snapshot"

    def test_heartbeat_in_silence_carries_the_last_seq(
        self, server: LiveServer, ws: Connect
    ) -> None:
        assert server.store is not None
        server.store.realtime.limits.heartbeat_s = 0.2
        with ws(server, token=DISPLAY_TOKEN) as connection:
            snapshot = json.loads(connection.recv(timeout=10))
            ping = json.loads(connection.recv(timeout=10))
        assert ping["type"] == "ping" and ping["seq"] == snapshot["seq"] and ping["at"]


class TestResume:
    def test_since_gets_exactly_the_missed_events(self, server: LiveServer, ws: Connect) -> None:
        with ws(server, token=DISPLAY_TOKEN) as connection:
            seen = receive(connection)["seq"]
        open_counter(server, "teller1", "1")
        issue(server, "A")
        call_next(server, "teller1", "1")
        with ws(server, token=DISPLAY_TOKEN, since=seen) as connection:
            missed = [receive(connection) for _ in range(3)]
            issue(server, "C")
            live = receive(connection)
        assert [m["type"] for m in missed] == [
            "counter.updated",
            "ticket.issued",
            "ticket.called",
        ]
        assert [m["seq"] for m in missed] == [seen + 1, seen + 2, seen + 3]
        assert live["type"] == "ticket.issued" and live["seq"] == seen + 4

    def test_since_at_the_latest_seq_sends_only_new_events(
        self, server: LiveServer, ws: Connect
    ) -> None:
        issue(server, "A")
        with ws(server, token=DISPLAY_TOKEN) as connection:
            seen = receive(connection)["seq"]
        with ws(server, token=DISPLAY_TOKEN, since=seen) as connection:
            issue(server, "B")
            message = receive(connection)
        assert message["type"] == "ticket.issued" and message["seq"] == seen + 1

    @pytest.mark.parametrize("since", ["-1", "abc", "99999", ""])
    def test_an_invalid_or_future_since_gets_a_snapshot(
        self, server: LiveServer, ws: Connect, since: str
    ) -> None:
        issue(server, "A")
        with ws(server, token=DISPLAY_TOKEN, since=since) as connection:
            message = receive(connection)
        assert message["type"] == "snapshot" and message["seq"] == 1

    def test_a_since_too_far_behind_gets_a_snapshot(self, server: LiveServer, ws: Connect) -> None:
        assert server.store is not None
        server.store.realtime.limits.max_replay = 3
        for _ in range(5):
            issue(server, "A")
        with ws(server, token=DISPLAY_TOKEN, since=1) as connection:
            old = receive(connection)
        with ws(server, token=DISPLAY_TOKEN, since=2) as connection:
            recent = [receive(connection) for _ in range(3)]
        assert old["type"] == "snapshot" and old["seq"] == 5
        assert [m["seq"] for m in recent] == [3, 4, 5]


class TestRefused:
    def refusal(self, ws: Connect, server: LiveServer, **kwargs: object) -> tuple[int, str]:
        with ws(server, **kwargs) as connection, pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code, closed.value.rcvd.reason

    def test_without_a_token(self, server: LiveServer, ws: Connect) -> None:
        assert self.refusal(ws, server) == (1008, "not_authenticated")

    def test_with_a_wrong_token(self, server: LiveServer, ws: Connect) -> None:
        assert self.refusal(ws, server, token="not-a-token") == (1008, "invalid_token")

    def test_a_device_of_another_branch(self, config: AppConfig, ws: Connect) -> None:
        two = with_second_branch(config)
        with live_server(two) as server:
            assert self.refusal(ws, server, token="display-token-b2") == (1008, "wrong_branch")
            with ws(server, "b2", token="display-token-b2") as connection:
                assert receive(connection)["type"] == "snapshot"

    def test_an_unknown_branch(self, server: LiveServer, ws: Connect) -> None:
        assert self.refusal(ws, server, branch="nope", token=DISPLAY_TOKEN) == (
            4404,
            "branch_not_found",
        )


def test_the_subscription_ends_when_the_client_leaves(server: LiveServer, ws: Connect) -> None:
    assert server.store is not None
    hub = server.store.hub
    with ws(server, token=DISPLAY_TOKEN) as first, ws(server, token=DISPLAY_TOKEN) as second:
        receive(first)
        receive(second)
        assert hub.subscriber_count("b1") == 2
    wait_for(lambda: hub.subscriber_count("b1") == 0)
    with server.client() as client:
        assert client.get("/health").json()["websocket_clients"] == 0
