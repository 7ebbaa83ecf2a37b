"""counter_client.client: the typed API client and the WebSocket follower, against
the live server."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest

from counter_client.client import LobbyQAPIError, LobbyQClient, follow_branch, ws_url
from tests.counter_client.conftest import DisplayFeed, issue
from tests.support import DISPLAY_TOKEN, PASSWORDS, LiveServer, run_async


def signed_in(server: LiveServer, username: str) -> LobbyQClient:
    api = LobbyQClient(server.url)
    out = api.login(username, PASSWORDS[username])
    assert out["role"] == "teller" and api.token == out["access_token"]
    return api


class TestClient:
    def test_a_counter_through_the_client(self, server: LiveServer, display: DisplayFeed) -> None:
        with signed_in(server, "teller1") as api:
            assert api.me()["name"] == "teller1"
            assert [b["code"] for b in api.branches()] == ["b1"]
            assert [s["code"] for s in api.services("b1")] == ["A", "B", "C"]
            issued = api.issue_ticket("b1", "A")
            assert issued["status"] == "waiting" and issued["position"] == 0
            assert api.ticket(issued["token"])["number"] == issued["number"]
            second = api.issue_ticket("b1", "B")["number"]

            assert api.open_counter("b1", "1")["state"] == "open"
            first = api.call_next("b1", "1")
            assert first is not None and first["number"] == issued["number"]
            assert display.next_of("ticket.called", issued["number"])["data"]["counter"] == "1"
            assert api.recall("b1", "1")["number"] == issued["number"]
            display.next_of("ticket.recalled", issued["number"])
            assert api.start("b1", "1")["status"] == "serving"
            done = api.complete("b1", "1", rating=5)
            assert done["status"] == "completed"
            shown = display.next_of("ticket.completed", issued["number"])
            # The teller's figure is kept apart and never counted (API.md v1.1).
            assert shown["data"]["teller_rating"] == 5

            assert api.call_number("b1", "1", second)["number"] == second
            moved = api.transfer("b1", "1", service="A")
            assert moved["status"] == "waiting" and moved["service"] == "A"
            again = api.call_next("b1", "1")
            assert again is not None and again["number"] == second
            assert api.no_show("b1", "1")["status"] == "no_show"
            assert api.call_next("b1", "1") is None  # 204: nobody waits
            assert api.pause("b1", "1")["state"] == "paused"
            assert api.resume("b1", "1")["state"] == "open"
            queue = api.queue("b1")
            assert queue["counters"][0]["state"] == "open"
            assert api.counter_summary("b1", "1")["today"]["counter"]["served"] == 1
            assert api.close_counter("b1", "1")["state"] == "closed"

    def test_refusals_carry_status_code_and_message(self, server: LiveServer) -> None:
        with LobbyQClient(server.url) as anonymous, pytest.raises(LobbyQAPIError) as bad:
            anonymous.login("teller1", "wrong-password")
        assert (bad.value.status, bad.value.code) == (401, "bad_credentials")
        assert bad.value.message == "wrong username or password"
        with signed_in(server, "teller1") as one, signed_in(server, "teller2") as two:
            one.open_counter("b1", "1")
            with pytest.raises(LobbyQAPIError) as taken:
                two.open_counter("b1", "1")
            assert (taken.value.status, taken.value.code) == (409, "counter_taken")
            assert taken.value.message == "teller1 is signed in at counter 1"
            with pytest.raises(LobbyQAPIError) as none_held:
                one.start("b1", "1")
            assert none_held.value.code == "no_ticket_held"
            with pytest.raises(LobbyQAPIError) as unknown:
                one.call_number("b1", "1", "Z999")
            assert (unknown.value.status, unknown.value.code) == (404, "ticket_not_found")
            with pytest.raises(LobbyQAPIError) as invalid:
                one.call_number("b1", "1", "no spaces")
            assert invalid.value.status == 422 and invalid.value.code == "invalid_input"

    def test_unreachable_server(self) -> None:
        with (
            LobbyQClient("http://127.0.0.1:9", timeout=2) as api,
            pytest.raises(LobbyQAPIError) as down,
        ):
            api.branches()
        assert (down.value.status, down.value.code) == (0, "unreachable")

    def test_ws_url(self) -> None:
        assert ws_url("https://q.bank/", "sz01", token="t k", since=7) == (
            "wss://q.bank/ws/branches/sz01?token=t+k&since=7"
        )
        assert ws_url("http://h:1", "b1", token=None, since=None) == "ws://h:1/ws/branches/b1"


class TestFollower:
    def test_snapshot_then_events_then_resume_with_since(self, server: LiveServer) -> None:
        async def take(count: int, since: int | None) -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            async for message in follow_branch(
                server.url, "b1", token=DISPLAY_TOKEN, since=since, reconnect=False
            ):
                got.append(message)
                if len(got) == count:
                    break
            return got

        first = issue(server, "A")
        start = run_async(take(1, None))
        assert start[0]["type"] == "snapshot"
        seq = start[0]["seq"]
        assert first in [w["number"] for w in start[0]["data"]["services"][0]["waiting"]]
        # missed while away: the follower asks with since= and gets exactly those
        second, third = issue(server, "B"), issue(server, "C")
        missed = run_async(take(2, seq))
        assert [(m["type"], m["data"]["number"]) for m in missed] == [
            ("ticket.issued", second),
            ("ticket.issued", third),
        ]
        assert [m["seq"] for m in missed] == [seq + 1, seq + 2]

    def test_refused_token_raises(self, server: LiveServer) -> None:
        async def first() -> None:
            async for _ in follow_branch(server.url, "b1", token="not-a-token", reconnect=False):
                pass

        with pytest.raises(LobbyQAPIError) as refused:
            run_async(first())
        assert refused.value.status == 401


def test_two_tellers_calling_at_once_never_get_the_same_ticket(server: LiveServer) -> None:
    issued = {issue(server, "A") for _ in range(12)}
    tellers = {"1": signed_in(server, "teller1"), "2": signed_in(server, "teller2")}
    for counter, api in tellers.items():
        api.open_counter("b1", counter)
    got: dict[str, list[str]] = {"1": [], "2": []}
    gate = threading.Barrier(2)

    def work(counter: str) -> None:
        api = tellers[counter]
        while True:
            # both call in the same instant, every round, until one has finished
            with contextlib.suppress(threading.BrokenBarrierError):
                gate.wait(timeout=20)
            ticket = api.call_next("b1", counter)
            if ticket is None:
                gate.abort()
                return
            got[counter].append(ticket["number"])
            api.complete("b1", counter)

    threads = [threading.Thread(target=work, args=(c,)) for c in tellers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for api in tellers.values():
        api.close()
    everyone = got["1"] + got["2"]
    assert len(everyone) == len(set(everyone)), f"a ticket was called twice: {got}"
    assert set(everyone) == issued
