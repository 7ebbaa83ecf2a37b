"""Many kiosks and counters at once against the real server on a real database:
no duplicate or skipped number, no ticket called twice, nothing lost."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import select

from server.models import Ticket, TicketEvent, TicketStatus
from tests.support import LiveServer

KIOSKS = 20
TICKETS_PER_KIOSK = 15
COUNTERS = {"1": "teller1", "2": "teller2", "3": "teller3"}  # 1, 2 serve A+B; 3 serves B


def test_kiosks_and_counters_at_once(server: LiveServer) -> None:
    issued: list[dict[str, str]] = []
    errors: list[str] = []
    lock = threading.Lock()
    done_issuing = threading.Event()

    def kiosk(index: int) -> None:
        with server.client("kiosk") as client:
            for i in range(TICKETS_PER_KIOSK):
                service = "A" if (index + i) % 2 else "B"
                response = client.post("/branches/b1/tickets", json={"service": service})
                with lock:
                    if response.status_code == 201:
                        issued.append(response.json())
                    else:
                        errors.append(f"issue {response.status_code} {response.text}")

    called: list[str] = []

    def counter(number: str, username: str) -> None:
        with server.client(username) as client:
            client.post(f"/branches/b1/counters/{number}/open").raise_for_status()
            idle_after_done = 0
            while idle_after_done < 3:
                response = client.post(f"/branches/b1/counters/{number}/call-next")
                if response.status_code == 204:
                    if done_issuing.is_set():
                        idle_after_done += 1
                    continue
                if response.status_code != 200:
                    with lock:
                        errors.append(f"call {response.status_code} {response.text}")
                    continue
                number_called = response.json()["ticket"]["number"]
                completed = client.post(f"/branches/b1/counters/{number}/complete")
                with lock:
                    called.append(number_called)
                    if completed.status_code != 200:
                        errors.append(f"complete {completed.status_code} {completed.text}")

    with ThreadPoolExecutor(max_workers=KIOSKS + len(COUNTERS)) as pool:
        counters = [pool.submit(counter, n, u) for n, u in COUNTERS.items()]
        kiosks = [pool.submit(kiosk, i) for i in range(KIOSKS)]
        for future in kiosks:
            future.result()
        done_issuing.set()
        for future in counters:
            future.result()

    assert errors == []
    total = KIOSKS * TICKETS_PER_KIOSK
    assert len(issued) == total
    # Numbers: per service 1..N, none skipped, none repeated.
    for service in ("A", "B"):
        seqs = sorted(int(t["number"][1:]) for t in issued if t["service"] == service)
        assert seqs == list(range(1, len(seqs) + 1))
    # Every ticket called exactly once, and all of them served.
    assert sorted(called) == sorted(t["number"] for t in issued)
    assert store_state(server) == (total, total)


def store_state(server: LiveServer) -> tuple[int, int]:
    assert server.store is not None
    with server.store.db.read() as session:
        tickets = list(session.exec(select(Ticket)))
        calls = Tally(
            e.ticket_id
            for e in session.exec(select(TicketEvent).where(TicketEvent.type == "ticket.called"))
        )
    assert all(count == 1 for count in calls.values())
    assert all(t.status == TicketStatus.completed for t in tickets)
    return len(tickets), len(calls)


def test_counters_racing_for_few_tickets_never_share_one(server: LiveServer) -> None:
    with server.client("kiosk") as kiosk:
        for _ in range(3):
            kiosk.post("/branches/b1/tickets", json={"service": "A"}).raise_for_status()
    clients = {n: server.client(u) for n, u in (("1", "teller1"), ("2", "teller2"))}
    for number, client in clients.items():
        client.post(f"/branches/b1/counters/{number}/open").raise_for_status()
    barrier = threading.Barrier(len(clients))

    def race(number: str) -> list[str]:
        got = []
        client = clients[number]
        for _ in range(3):
            barrier.wait()
            response = client.post(f"/branches/b1/counters/{number}/call-next")
            if response.status_code == 200:
                got.append(response.json()["ticket"]["number"])
                client.post(f"/branches/b1/counters/{number}/complete").raise_for_status()
        return got

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(race, clients))
    for client in clients.values():
        client.close()
    everything = results[0] + results[1]
    assert sorted(everything) == ["A001", "A002", "A003"]
