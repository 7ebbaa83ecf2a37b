"""Numbering and the call-next claim under real concurrency: several OS processes,
each with its own connections, on SQLite and on Postgres (both, in every pass)."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from server.app import prepare_database
from server.config import AppConfig, parse_config
from server.db import Database
from server.models import Ticket, TicketEvent
from server.queue import counters as counter_rules
from tests.scale import workers
from tests.scale.conftest import PG_ADMIN_URL
from tests.scale.procs import config_data, drop_pg_database, fresh_pg_database

PROCESSES = 4
COUNTERS = [str(n) for n in range(1, 13)]


@pytest.fixture(params=["sqlite", "postgres"])
def race_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppConfig]:
    if request.param == "postgres":
        url = fresh_pg_database(PG_ADMIN_URL)
    else:
        url = f"sqlite:///{tmp_path / 'race.db'}"
    data = config_data(
        url, tmp_path / "data", counters=[{"number": n, "services": ["A", "B"]} for n in COUNTERS]
    )
    data["users"] = []  # not needed here, and hashing passwords is slow
    config = parse_config(data)
    db = Database(url)
    prepare_database(config, db)
    db.dispose()
    yield config
    if request.param == "postgres":
        drop_pg_database(PG_ADMIN_URL, url)


def pool() -> ProcessPoolExecutor:
    # fork: each worker starts at once and opens its own connections (the parent's
    # engines are disposed before).
    return ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("fork"))


def test_numbers_never_repeat_or_skip_across_processes(race_config: AppConfig) -> None:
    per_process = 10
    with pool() as executor:
        results = list(
            executor.map(
                workers.issue_many,
                [race_config] * PROCESSES,
                [["A", "B"]] * PROCESSES,
                [per_process] * PROCESSES,
            )
        )
    issued = [pair for result in results for pair in result]
    assert len(issued) == PROCESSES * per_process
    for service in ("A", "B"):
        numbers = sorted(number for s, number in issued if s == service)
        half = PROCESSES * per_process // 2
        assert numbers == [f"{service}{n:03d}" for n in range(1, half + 1)]
    db = Database(race_config.server.database_url)
    with db.read() as session:
        seqs = list(session.exec(select(TicketEvent.seq).order_by(col(TicketEvent.seq))))
    db.dispose()
    assert seqs == list(range(1, len(seqs) + 1))  # the event log has no hole either


def test_two_counters_never_get_the_same_ticket(race_config: AppConfig) -> None:
    branch = race_config.branches[0]
    db = Database(race_config.server.database_url)
    now = datetime.now(UTC)
    with db.write() as session:
        for number in COUNTERS:
            counter_rules.open_counter(
                session=session, branch=branch, counter=number, username=f"t{number}", now=now
            )
    db.dispose()
    total = 40
    # Issuing and calling at the same time, from separate processes.
    per_process = [COUNTERS[i::3] for i in range(3)]
    with pool() as executor:
        issuing = executor.submit(workers.issue_many, race_config, ["A", "B"], total)
        calling = [
            executor.submit(
                workers.call_until_empty,
                race_config,
                [(n, f"t{n}") for n in mine],
                expect_total=total,
            )
            for mine in per_process
        ]
        issued = issuing.result()
        results = [future.result() for future in calling]
    errors = [e for r in results for e in r["errors"]]
    assert errors == []
    claims = [c for r in results for c in r["claims"]]
    ids = Counter(ticket_id for _, ticket_id, _ in claims)
    assert [i for i, n in ids.items() if n > 1] == []  # nobody called twice
    db = Database(race_config.server.database_url)
    with db.read() as session:
        rows = list(session.exec(select(Ticket)))
        called_events = list(
            session.exec(select(TicketEvent).where(TicketEvent.type == "ticket.called"))
        )
    db.dispose()
    assert len(rows) == len(issued) == total
    # Every ticket was called exactly once, and completed.
    assert {r.id: str(r.status) for r in rows} == {i: "completed" for i in ids}
    assert Counter(e.ticket_id for e in called_events) == ids
