"""Two real `lobbyq serve` processes on one database (Postgres, or one SQLite file
whose writers queue on its lock file) with Redis between them behave as one system."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.scale.procs import ServerProcess, config_data, login, write_config
from tests.scale.wsclient import Display
from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, PASSWORDS

ISSUERS_PER_PROCESS = 2
TICKETS_PER_ISSUER = 10
TOTAL = 2 * ISSUERS_PER_PROCESS * TICKETS_PER_ISSUER
Pair = tuple[ServerProcess, ServerProcess]


@pytest.fixture(params=["postgres", "sqlite"])
def pair(request: pytest.FixtureRequest, workdir: Path, redis_url: str) -> Iterator[Pair]:
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_url")
    else:
        database_url = f"sqlite:///{workdir / 'lobbyq.db'}"
    config = write_config(
        workdir / "lobbyq.toml",
        config_data(
            database_url,
            workdir / "data",
            redis_url=redis_url,
            users=("teller1", "teller2", "teller3"),
        ),
    )
    a = ServerProcess(config, log=workdir / "a.log")
    b = ServerProcess(config, log=workdir / "b.log")
    try:
        a.start()  # the first one applies the migrations
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def final_seq(server: ServerProcess, token: str) -> int:
    response = httpx.get(f"{server.api}/branches/b1/queue", headers=bearer(token), timeout=10)
    response.raise_for_status()
    return int(response.json()["seq"])


def test_two_processes_act_as_one(pair: Pair) -> None:
    a, b = pair
    tokens = {u: login(a.api, u, PASSWORDS[u]) for u in ("teller1", "teller2", "teller3")}
    # Signed by the shared secret: a token from A works on B.
    seats = [(a, "teller1", "1"), (b, "teller2", "2"), (a, "teller3", "3")]
    for server, user, seat in seats:
        response = httpx.post(
            f"{server.api}/branches/b1/counters/{seat}/open", headers=bearer(tokens[user])
        )
        assert response.status_code == 200, response.text

    display = Display(b.ws, "b1", DISPLAY_TOKEN)
    display.start()
    assert display.wait_connected()
    assert display.snapshots, "the display starts from a snapshot"

    issued: list[tuple[int, str]] = []
    calls: list[tuple[str, str]] = []
    errors: list[str] = []
    lock = threading.Lock()
    issuing_done = threading.Event()

    def kiosk(server: ServerProcess, k: int) -> None:
        with httpx.Client(base_url=server.api, headers=bearer(KIOSK_TOKEN), timeout=30) as http:
            for i in range(TICKETS_PER_ISSUER):
                body = {"service": "A" if (i + k) % 2 else "B", "print": False}
                response = http.post("/branches/b1/tickets", json=body)
                with lock:
                    if response.status_code == 201:
                        issued.append((response.status_code, response.json()["number"]))
                    else:
                        errors.append(f"issue {response.status_code} {response.text}")

    def counter(server: ServerProcess, user: str, number: str) -> None:
        with httpx.Client(base_url=server.api, headers=bearer(tokens[user]), timeout=30) as http:
            idle_after_done = 0
            while idle_after_done < 2:
                response = http.post(f"/branches/b1/counters/{number}/call-next")
                if response.status_code == 204:
                    if issuing_done.is_set():
                        idle_after_done += 1
                    time.sleep(0.05)
                    continue
                if response.status_code != 200:
                    with lock:
                        errors.append(f"call {response.status_code} {response.text}")
                    return
                with lock:
                    calls.append((number, response.json()["ticket"]["number"]))
                done = http.post(f"/branches/b1/counters/{number}/complete")
                if done.status_code != 200:
                    with lock:
                        errors.append(f"complete {done.status_code} {done.text}")
                    return

    kiosks = [
        threading.Thread(target=kiosk, args=(server, k))
        for server in (a, b)
        for k in range(ISSUERS_PER_PROCESS)
    ]
    counters = [threading.Thread(target=counter, args=seat) for seat in seats]
    for thread in kiosks + counters:
        thread.start()
    for thread in kiosks:
        thread.join()
    issuing_done.set()
    for thread in counters:
        thread.join()

    assert errors == []
    numbers = [n for _, n in issued]
    assert len(numbers) == TOTAL
    for service in ("A", "B"):
        mine = sorted(n for n in numbers if n.startswith(service))
        assert mine == [f"{service}{i:03d}" for i in range(1, len(mine) + 1)]  # no skip, no repeat
    called = Counter(n for _, n in calls)
    assert sorted(called) == sorted(numbers)
    assert max(called.values()) == 1  # no ticket called by two counters

    # The display on B saw every event of both processes, each once, in seq order.
    last = final_seq(a, tokens["teller1"])
    assert display.wait_for(last)
    assert display.gaps == []
    seqs = [int(e["seq"]) for e in display.events]
    assert seqs == list(range(display.snapshots[0] + 1, last + 1))
    assert sorted(display.called_numbers()) == sorted(numbers)

    # A call made on A, while B does nothing at all, reaches B's display: only Redis
    # can have carried it.
    ticket = httpx.post(
        f"{a.api}/branches/b1/tickets", json={"service": "A"}, headers=bearer(KIOSK_TOKEN)
    ).json()
    response = httpx.post(
        f"{a.api}/branches/b1/counters/1/call-next", headers=bearer(tokens["teller1"])
    )
    assert response.status_code == 200
    assert response.json()["ticket"]["number"] == ticket["number"]
    last = final_seq(a, tokens["teller1"])
    assert display.wait_for(last)
    assert display.events[-1]["type"] == "ticket.called"
    assert display.events[-1]["data"]["number"] == ticket["number"]
    assert display.events[-1]["data"]["counter"] == "1"
    display.stop()

    # Offline for a while; on reconnect (to either process) with since= it gets exactly
    # what it missed, in order, not a snapshot.
    seen = display.last
    httpx.post(f"{a.api}/branches/b1/counters/1/complete", headers=bearer(tokens["teller1"]))
    for service in ("A", "B", "C"):
        httpx.post(
            f"{a.api}/branches/b1/tickets", json={"service": service}, headers=bearer(KIOSK_TOKEN)
        )
    httpx.post(f"{b.api}/branches/b1/counters/2/call-next", headers=bearer(tokens["teller2"]))
    last = final_seq(b, tokens["teller2"])
    assert last == seen + 5
    for server in (b, a):
        again = Display(server.ws, "b1", DISPLAY_TOKEN, since=seen)
        again.start()
        try:
            assert again.wait_for(last)
            assert again.snapshots == []
            assert again.gaps == []
            assert [int(e["seq"]) for e in again.events] == list(range(seen + 1, last + 1))
            assert [e["type"] for e in again.events] == [
                "ticket.completed",
                "ticket.issued",
                "ticket.issued",
                "ticket.issued",
                "ticket.called",
            ]
        finally:
            again.stop()
