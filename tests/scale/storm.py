"""A storm on a real `lobbyq serve` process: 30 counters calling as fast as they can
and 16 kiosks issuing, on loopback, for a bounded time; then the counters drain the
line. Used by tests/scale/test_storm.py (Postgres, ~25 s) and runnable on its own:

    .venv/bin/python -m tests.scale.storm --seconds 60            # Postgres
    .venv/bin/python -m tests.scale.storm --seconds 60 --sqlite

What it records and `Storm.problems()` reports: the process dying (a segfault shows
in its log thanks to PYTHONFAULTHANDLER), any 5xx or unexpected answer, any request
without an answer, and, read from the database afterwards, any acknowledged ticket
lost, left uncalled, or called twice."""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from server.auth import hash_password
from server.db import Database, migrate
from server.models import Role, Ticket, TicketEvent, User
from tests.scale.procs import (
    ServerProcess,
    drop_pg_database,
    fresh_pg_database,
    login,
    write_config,
)

COUNTERS = 30
KIOSKS = 16
PASSWORD = "storm-password-1"
PG_ADMIN = os.environ.get("LOBBYQ_TEST_POSTGRES") or (
    "postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
)


def storm_config(database_url: str, data_dir: Path) -> dict[str, Any]:
    return {
        "server": {
            "database_url": database_url,
            "data_dir": str(data_dir),
            "login_attempts_per_minute": 1000,
        },
        "branches": [
            {
                "code": "b1",
                "name": {"zh": "风暴测试支行", "en": "Storm Branch"},
                "services": [
                    {"code": "A", "prefix": "A", "name": {"zh": "现金", "en": "Cash"}},
                    {"code": "B", "prefix": "B", "name": {"zh": "非现金", "en": "Non-cash"}},
                ],
                "priorities": [{"code": "vip", "weight": 4, "prefix": "V"}],
                # Overlapping services: most counters race for the same tickets.
                "counters": [
                    {"number": str(n), "services": ["A", "B"] if n % 3 else ["B"]}
                    for n in range(1, COUNTERS + 1)
                ],
                "kiosks": [{"id": f"k{n}", "token": f"storm-kiosk-{n:02d}"} for n in range(KIOSKS)],
            }
        ],
    }


@dataclass
class Storm:
    server: ServerProcess
    issue_rate: float = 40.0  # tickets per second, all kiosks together
    acked: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (counter, number)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    issuing: threading.Event = field(default_factory=threading.Event)

    def _client(self, token: str) -> httpx.Client:
        # Kept-alive connections never sit idle long here, and are dropped before
        # uvicorn's 5 s keep-alive timeout could close one under a request.
        limits = httpx.Limits(max_keepalive_connections=1, keepalive_expiry=2)
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.server.api, headers=headers, timeout=120, limits=limits)

    def _post(
        self, client: httpx.Client, what: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        try:
            response = client.post(path, **kwargs)
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors.append(f"{what}: no answer ({type(exc).__name__}: {exc})")
            return None
        with self.lock:
            self.requests += 1
        return response

    def _refused(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.errors.append(f"{what}: {response.status_code} {response.text[:200]}")

    def kiosk(self, k: int) -> None:
        pause = KIOSKS / self.issue_rate
        with self._client(f"storm-kiosk-{k:02d}") as client:
            i = 0
            while self.issuing.is_set():
                started = time.monotonic()
                body = {"service": "AB"[(i + k) % 2], "print": False}
                i += 1
                response = self._post(client, "issue", "/branches/b1/tickets", json=body)
                if response is None:
                    continue
                if response.status_code == 201:
                    with self.lock:
                        self.acked.append(response.json())
                else:
                    self._refused("issue", response)
                time.sleep(max(0.0, pause - (time.monotonic() - started)))

    def counter(self, number: str, token: str, drain_by: list[float]) -> None:
        base = f"/branches/b1/counters/{number}"
        with self._client(token) as client:
            opened = self._post(client, "open", f"{base}/open")
            if opened is None or opened.status_code != 200:
                if opened is not None:
                    self._refused("open", opened)
                return
            empty_after_issuing = 0
            while empty_after_issuing < 3 and time.monotonic() < drain_by[0]:
                response = self._post(client, "call-next", f"{base}/call-next")
                if response is None:
                    time.sleep(0.05)
                    continue
                if response.status_code == 204:
                    if not self.issuing.is_set():
                        empty_after_issuing += 1
                    time.sleep(0.005)
                    continue
                if response.status_code != 200:
                    self._refused("call-next", response)
                    continue
                empty_after_issuing = 0
                with self.lock:
                    self.calls.append((number, response.json()["ticket"]["number"]))
                done = self._post(client, "complete", f"{base}/complete")
                if done is not None and done.status_code != 200:
                    self._refused("complete", done)

    def run(self, seconds: float, tokens: list[str], drain_s: float = 60) -> float:
        """Storm for `seconds`, then let the counters empty the line; returns the
        seconds the whole run took."""
        started = time.monotonic()
        drain_by = [float("inf")]
        self.issuing.set()
        threads = [
            threading.Thread(target=self.counter, args=(str(n), tokens[n - 1], drain_by))
            for n in range(1, COUNTERS + 1)
        ] + [threading.Thread(target=self.kiosk, args=(k,)) for k in range(KIOSKS)]
        for thread in threads:
            thread.start()
        while time.monotonic() - started < seconds and self.server_alive():
            time.sleep(0.2)
        self.issuing.clear()
        drain_by[0] = time.monotonic() + drain_s
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    def server_alive(self) -> bool:
        return self.server.proc is not None and self.server.proc.poll() is None

    def problems(self, database_url: str) -> list[str]:
        """Everything that went wrong; empty when the storm passed."""
        found: list[str] = []
        if not self.server_alive():
            assert self.server.proc is not None
            found.append(
                f"server died (exit {self.server.proc.returncode}):\n{self.server.tail(60)}"
            )
        found += self.errors[:20]
        if len(self.errors) > 20:
            found.append(f"... and {len(self.errors) - 20} more errors")
        numbers = Tally(number for _, number in self.calls)
        found += [f"{n} answered to {c} calls" for n, c in numbers.items() if c > 1]
        db = Database(database_url)
        try:
            with db.read() as session:
                tickets = {t.id: t for t in session.exec(select(Ticket))}
                called = Tally(
                    e.ticket_id
                    for e in session.exec(
                        select(TicketEvent).where(TicketEvent.type == "ticket.called")
                    )
                )
        finally:
            db.dispose()
        for ticket in self.acked:
            row = tickets.get(ticket["id"])
            if row is None or row.number != ticket["number"]:
                found.append(f"ticket {ticket['number']} (id {ticket['id']}) lost")
            elif called[row.id] != 1:
                found.append(f"ticket {row.number} called {called[row.id]} times")
            elif row.status != "completed":
                found.append(f"ticket {row.number} left {row.status}")
        if len(tickets) != len(self.acked):
            found.append(f"{len(tickets)} tickets in the database, {len(self.acked)} acknowledged")
        return found


def add_tellers(database_url: str) -> None:
    """The 30 tellers, written before the server starts with one password hash for
    all (as config users each would cost an argon2 hash at start-up)."""
    db = Database(database_url)
    try:
        migrate(database_url)
        password_hash = hash_password(PASSWORD)
        with db.write() as session:
            for n in range(1, COUNTERS + 1):
                session.add(
                    User(
                        username=f"t{n}",
                        password_hash=password_hash,
                        role=Role.teller,
                        display_name=f"t{n}",
                    )
                )
    finally:
        db.dispose()


def start_storm_server(database_url: str, folder: Path) -> tuple[ServerProcess, list[str]]:
    add_tellers(database_url)
    config = write_config(folder / "storm.toml", storm_config(database_url, folder / "data"))
    server = ServerProcess(config, log=folder / "server.log")
    try:
        server.start(timeout=120)
        with ThreadPoolExecutor(8) as pool:
            tokens = list(
                pool.map(lambda n: login(server.api, f"t{n}", PASSWORD), range(1, COUNTERS + 1))
            )
    except BaseException:
        server.stop()
        raise
    return server, tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--issue-rate", type=float, default=40, help="tickets/s, all kiosks")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lobbyq-storm-"))
    url = f"sqlite:///{folder / 'storm.db'}" if args.sqlite else fresh_pg_database(PG_ADMIN)
    server, tokens = start_storm_server(url, folder)
    try:
        storm = Storm(server, issue_rate=args.issue_rate)
        elapsed = storm.run(args.seconds, tokens)
        problems = storm.problems(url)
    finally:
        server.stop()
        if not args.sqlite:
            drop_pg_database(PG_ADMIN, url)
    print(f"| database | {'SQLite' if args.sqlite else 'PostgreSQL'} |")
    print(f"| clients | {COUNTERS} counters, {KIOSKS} kiosks, {elapsed:.0f} s |")
    print(f"| requests answered | {storm.requests} ({storm.requests / elapsed:.0f}/s) |")
    print(f"| tickets issued / called | {len(storm.acked)} / {len(storm.calls)} |")
    print(f"| problems (target 0) | {len(problems)} |")
    for problem in problems:
        print(problem)
    print(f"server log: {server.log}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
