"""Code run in separate OS processes by the race tests: each process has its own
engine and connections, as several `lobbyq serve` processes would."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from server.config import AppConfig
from server.db import Database
from server.errors import QueueEmpty
from server.models import Ticket
from server.queue import tickets


def issue_many(config: AppConfig, services: list[str], count: int) -> list[tuple[str, str]]:
    """Issue `count` tickets round-robin over `services`; (service, number) each."""
    db = Database(config.server.database_url)
    branch = config.branches[0]
    out: list[tuple[str, str]] = []
    try:
        for i in range(count):
            with db.write() as session:
                issued = tickets.issue_ticket(
                    session=session,
                    branch=branch,
                    service=services[i % len(services)],
                    now=datetime.now(UTC),
                )
                out.append((issued.ticket.service, issued.ticket.number))
    finally:
        db.dispose()
    return out


def call_until_empty(
    config: AppConfig, counters: list[tuple[str, str]], expect_total: int, deadline_s: float = 90
) -> dict[str, Any]:
    """One thread per (counter, username): call-next then complete, until all of
    `expect_total` tickets were issued and none waits. Returns the claims and errors."""
    db = Database(config.server.database_url)
    branch = config.branches[0]
    claims: list[tuple[str, int, str]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def issued_count() -> int:
        with db.read() as session:
            return int(session.exec(select(func.count()).select_from(Ticket)).one())

    def work(counter: str, username: str) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            try:
                with db.write() as session:
                    ticket = tickets.call_next(
                        session=session,
                        branch=branch,
                        counter=counter,
                        username=username,
                        now=datetime.now(UTC),
                    )
                    claimed = (counter, int(ticket.id or 0), ticket.number)
            except QueueEmpty:
                if issued_count() >= expect_total:
                    return
                time.sleep(0.2)
                continue
            except Exception as exc:  # a deadlock or a double claim is the failure sought
                with lock:
                    errors.append(f"{counter}: {type(exc).__name__}: {exc}")
                return
            with lock:
                claims.append(claimed)
            try:
                with db.write() as session:
                    tickets.complete(
                        session=session,
                        branch=branch,
                        counter=counter,
                        username=username,
                        now=datetime.now(UTC),
                    )
            except Exception as exc:
                with lock:
                    errors.append(f"{counter} complete: {type(exc).__name__}: {exc}")
                return

    threads = [threading.Thread(target=work, args=pair) for pair in counters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    return {"claims": claims, "errors": errors}
