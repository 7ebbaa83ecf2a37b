"""SIGKILL the server mid-load, restart it on the same SQLite file: nothing that was
acknowledged is lost, numbering goes on without reuse, displays resync by themselves."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from server.db import Database
from server.models import Ticket, TicketEvent
from tests.scale.procs import ServerProcess, config_data, login, write_config
from tests.scale.wsclient import Display
from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, PASSWORDS


class Load:
    """Kiosks issuing and counters calling as fast as they can, through a crash:
    what the server acknowledged is recorded; connection errors are expected."""

    def __init__(self, server: ServerProcess, tokens: dict[str, str]) -> None:
        self.server = server
        self.tokens = tokens
        self.acked: list[dict[str, Any]] = []  # 201 bodies
        self.calls: list[tuple[str, str]] = []  # (counter, number) answered 200
        self.refused: list[str] = []  # 5xx or unexpected 4xx: must stay empty
        self.failures = 0  # no answer at all (the server was dead)
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def kiosk(self, k: int) -> None:
        headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
        i = 0
        while not self.halt.is_set():
            body = {"service": "AB"[(i + k) % 2], "print": False}
            i += 1
            try:
                response = httpx.post(
                    f"{self.server.api}/branches/b1/tickets", json=body, headers=headers, timeout=5
                )
            except httpx.HTTPError:
                self.failures += 1
                time.sleep(0.05)
                continue
            with self.lock:
                if response.status_code == 201:
                    self.acked.append(response.json())
                else:
                    self.refused.append(f"issue {response.status_code} {response.text}")
            time.sleep(0.01)

    def counter(self, user: str, number: str) -> None:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        base = f"{self.server.api}/branches/b1/counters/{number}"
        while not self.halt.is_set():
            try:
                response = httpx.post(f"{base}/call-next", headers=headers, timeout=5)
                if response.status_code == 200:
                    with self.lock:
                        self.calls.append((number, response.json()["ticket"]["number"]))
                elif response.status_code == 409:
                    pass  # a call committed just before the crash: complete it below
                elif response.status_code == 204:
                    time.sleep(0.02)
                    continue
                else:
                    self.refused.append(f"call {response.status_code} {response.text}")
                done = httpx.post(f"{base}/complete", headers=headers, timeout=5)
                if done.status_code not in (200, 409):
                    self.refused.append(f"complete {done.status_code} {done.text}")
            except httpx.HTTPError:
                self.failures += 1
                time.sleep(0.05)

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.kiosk, args=(k,), daemon=True) for k in range(2)]
        threads += [
            threading.Thread(target=self.counter, args=(u, n), daemon=True)
            for u, n in (("teller1", "1"), ("teller2", "2"))
        ]
        for thread in threads:
            thread.start()
        return threads

    def wait_acked(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def test_sigkill_mid_load_loses_nothing_acknowledged(workdir: Path) -> None:
    database = workdir / "lobbyq.db"
    url = f"sqlite:///{database}"
    config = write_config(
        workdir / "lobbyq.toml",
        config_data(url, workdir / "data", users=("teller1", "teller2")),
    )
    server = ServerProcess(config, log=workdir / "server.log").start()
    display: Display | None = None
    try:
        tokens = {u: login(server.api, u, PASSWORDS[u]) for u in ("teller1", "teller2")}
        for user, number in (("teller1", "1"), ("teller2", "2")):
            response = httpx.post(
                f"{server.api}/branches/b1/counters/{number}/open",
                headers={"Authorization": f"Bearer {tokens[user]}"},
            )
            assert response.status_code == 200
        display = Display(server.ws, "b1", DISPLAY_TOKEN)
        display.start()
        assert display.wait_connected()

        load = Load(server, tokens)
        threads = load.run()
        load.wait_acked(20)
        server.kill()  # mid-load: requests in flight get no answer
        acked_before = len(load.acked)
        numbers_before = {t["number"] for t in load.acked}
        time.sleep(0.5)
        server.start()  # same file, same port; the load keeps going meanwhile
        load.wait_acked(acked_before + 8, timeout=60)
        load.halt.set()
        for thread in threads:
            thread.join(timeout=15)
        assert load.refused == []
        assert load.failures > 0  # the crash was really felt mid-load
        assert len(load.acked) >= acked_before + 8

        # Every acknowledged ticket is still there, with its number.
        with httpx.Client(base_url=server.api, timeout=10) as http:
            for ticket in load.acked:
                response = http.get(f"/tickets/{ticket['token']}")
                assert response.status_code == 200, ticket
                assert response.json()["number"] == ticket["number"]

        acked_numbers = [t["number"] for t in load.acked]
        assert max(Counter(acked_numbers).values()) == 1  # nothing given out twice
        after = [n for n in acked_numbers if n not in numbers_before]
        for service in ("A", "B"):
            before_max = max(int(n[1:]) for n in numbers_before if n[0] == service)
            assert all(int(n[1:]) > before_max for n in after if n[0] == service)

        db = Database(url)
        with db.read() as session:
            rows = list(session.exec(select(Ticket)))
            seqs = list(session.exec(select(TicketEvent.seq).order_by(col(TicketEvent.seq))))
            called_in_log = list(
                session.exec(select(TicketEvent).where(TicketEvent.type == "ticket.called"))
            )
        db.dispose()
        for service in ("A", "B"):
            mine = sorted(r.seq for r in rows if r.service_seq_key == service)
            assert mine == list(range(1, len(mine) + 1))  # no number skipped or reused
        assert seqs == list(range(1, len(seqs) + 1))
        by_number = {r.number: r for r in rows}
        for counter, number in load.calls:
            assert by_number[number].status in ("called", "completed")
            assert by_number[number].counter == counter

        # The display noticed the crash, reconnected by itself with since=, and
        # caught up with everything committed, in order, once.
        assert display is not None
        assert display.wait_for(seqs[-1])
        assert display.connects >= 2
        assert display.gaps == []
        assert len(display.snapshots) == 1  # the replay needed no fresh snapshot
        shown = [int(e["seq"]) for e in display.events]
        assert shown == list(range(display.snapshots[0] + 1, seqs[-1] + 1))
        assert sorted(display.called_numbers()) == sorted(e.data["number"] for e in called_in_log)
    finally:
        if display is not None:
            display.stop()
        server.stop()
