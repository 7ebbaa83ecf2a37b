"""The cost of one estimated wait (server/queue/estimate.py estimate_wait_s), as issuing
a ticket pays it, with 10, 100 and 1000 tickets waiting and the demo branch's 8
counters open (half of them busy with a customer, one paused), on a real SQLite file;
next to a floor measured in the same run on the same connection: a bare `SELECT 1`.

    flock /tmp/lobbyq-bench.lock .venv/bin/python bench/bench_estimate.py [--calls 300]

Columns: time per call (median and p90 over --calls calls), the SQL statements one
call runs, the floor, and the first call (it also reads the counters' habits of the
last days, once per day and process; here the history is short). A line of MAX_PLAYED tickets or more (the 1000
and 1500 rows) is not played: with that many ahead the line is not even read (otherwise
its read stops at MAX_PLAYED rows) and the plain division answers; 999 is the longest
line played.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text, update
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.app import prepare_database  # noqa: E402
from server.config import load_config  # noqa: E402
from server.db import Database  # noqa: E402
from server.models import Counter, CounterState, Ticket, TicketStatus  # noqa: E402
from server.queue import tickets, wait_range  # noqa: E402
from server.queue.estimate import MAX_PLAYED, estimate_wait_s  # noqa: E402
from server.queue.today import Today  # noqa: E402
from server.queue.wait_range import estimate_with_range  # noqa: E402

SIZES = (10, 100, 999, 1000, 1500)
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def setup(folder: Path, waiting: int) -> tuple[Database, Any]:
    demo = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    db_path = folder / f"estimate-{waiting}.db"
    demo = demo.replace("sqlite:///data/lobbyq.db", f"sqlite:///{db_path}")
    demo = demo.replace('data_dir = "data"', f'data_dir = "{folder / "data"}"')
    config_path = folder / "config.toml"
    config_path.write_text(demo, encoding="utf-8")
    config = load_config(config_path)
    branch = config.branches[0]
    db = Database(config.server.database_url)
    prepare_database(config, db)
    rng = random.Random(waiting)
    codes = [s.code for s in branch.services]
    start = NOW - timedelta(minutes=30)
    # Some history: 40 completed tickets, so the service times are measured ones.
    with db.write() as session:
        for i in range(40 + 4 + waiting):
            at = start + timedelta(seconds=i * 1800 / (40 + waiting))
            priority = "vip" if rng.random() < 0.05 else "normal"
            tickets.issue_ticket(
                session=session,
                branch=branch,
                service=rng.choice(codes),
                priority=priority,
                now=at,
            )
        done = session.exec(select(Ticket).order_by(col(Ticket.id)).limit(40)).all()
        for i, row in enumerate(done):
            row.status = TicketStatus.completed
            row.called_at = start + timedelta(seconds=i * 20)
            row.finished_at = row.called_at + timedelta(seconds=rng.uniform(120, 600))
            session.add(row)
        # 8 counters: open (bench only: states set directly, no tellers needed);
        # four of them hold a customer called 2 minutes ago, one is paused.
        held = session.exec(
            select(Ticket)
            .where(Ticket.status == TicketStatus.waiting)
            .order_by(col(Ticket.id))
            .limit(4)
        ).all()
        for n, row in zip(("1", "3", "5", "8"), held, strict=False):
            row.status = TicketStatus.called
            row.called_at = NOW - timedelta(minutes=2)
            row.counter = n
            session.add(row)
            session.execute(
                update(Counter).where(col(Counter.number) == n).values(current_ticket_id=row.id)
            )
        session.execute(
            update(Counter).values(state=CounterState.open, state_since=NOW - timedelta(hours=2))
        )
        session.execute(
            update(Counter)
            .where(col(Counter.number) == "6")
            .values(state=CounterState.paused, state_since=NOW - timedelta(minutes=5))
        )
    return db, branch


def measure(
    db: Database, branch: Any, calls: int
) -> tuple[list[float], list[float], int, int, float]:
    service = branch.service("A")
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    with db.read() as session:
        waiting = session.exec(select(Ticket.id).where(Ticket.status == TicketStatus.waiting)).all()
        ahead = len(waiting)
        t0 = time.perf_counter()
        estimate_wait_s(session, service, ahead, today=Today.of(branch, NOW))  # reads the habits
        first = (time.perf_counter() - t0) * 1000
        connection = session.connection()
        event.listen(connection, "before_cursor_execute", count)
        estimate_wait_s(session, service, ahead, today=Today.of(branch, NOW))
        event.remove(connection, "before_cursor_execute", count)
        per_call, floor = [], []
        for _ in range(calls):
            t0 = time.perf_counter()
            estimate_wait_s(session, service, ahead, today=Today.of(branch, NOW))
            t1 = time.perf_counter()
            connection.execute(text("SELECT 1")).scalar_one()
            t2 = time.perf_counter()
            per_call.append((t1 - t0) * 1000)
            floor.append((t2 - t1) * 1000)
    return per_call, floor, statements, ahead, first


def measure_range(db: Database, branch: Any, calls: int) -> tuple[float, float, float]:
    """What the range adds to an issue: estimate_with_range (the raw estimate, then the
    calibrated point and range) against estimate_wait_s alone, alternated in the same
    session (medians, ms); and one read of the record (done every REFRESH_S)."""
    service = branch.service("A")
    with db.read() as session:
        ahead = len(
            session.exec(select(Ticket.id).where(Ticket.status == TicketStatus.waiting)).all()
        )
        estimate_with_range(session, service, ahead, today=Today.of(branch, NOW))
        bare, ranged = [], []
        for _ in range(calls):
            t0 = time.perf_counter()
            estimate_wait_s(session, service, ahead, today=Today.of(branch, NOW))
            t1 = time.perf_counter()
            estimate_with_range(session, service, ahead, today=Today.of(branch, NOW))
            t2 = time.perf_counter()
            bare.append((t1 - t0) * 1000)
            ranged.append((t2 - t1) * 1000)
        t0 = time.perf_counter()
        wait_range.calibrate(wait_range.read_record(session, branch, NOW))
        refresh = (time.perf_counter() - t0) * 1000
    return statistics.median(bare), statistics.median(ranged), refresh


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.9 + 0.999999) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    print(f"estimate_wait_s per call, SQLite file, 8 counters, MAX_PLAYED={MAX_PLAYED}")
    print(
        f"{'waiting':>8} {'played':>7} {'SQL/call':>8} {'median ms':>10} {'p90 ms':>8} "
        f"{'floor SELECT 1 ms':>18} {'x floor':>8} {'first call ms':>14}"
    )
    ranges: list[tuple[int, float, float, float]] = []
    range_costs: dict[int, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="lobbyq-bench-estimate-") as tmp:
        for size in SIZES:
            db, branch = setup(Path(tmp), size)
            try:
                calls = args.calls if size <= 100 else max(20, args.calls // 10)
                per_call, floor, statements, waiting, first = measure(db, branch, calls)
                range_costs[size] = measure_range(db, branch, calls)
            finally:
                db.dispose()
            median, base = statistics.median(per_call), statistics.median(floor)
            played = "yes" if waiting < MAX_PLAYED else "no"
            print(
                f"{waiting:>8} {played:>7} {statements:>8} {median:>10.3f} {p90(per_call):>8.3f} "
                f"{base:>18.4f} {median / base:>8.0f} {first:>14.2f}"
            )
            ranges.append((waiting, *range_costs[size]))
    print("\nthe range on top (server/queue/wait_range.py), medians in ms")
    print(f"{'waiting':>8} {'estimate':>9} {'+ range':>9} {'range adds':>11} {'record read':>12}")
    for waiting, bare, ranged, refresh in ranges:
        print(f"{waiting:>8} {bare:>9.3f} {ranged:>9.3f} {ranged - bare:>11.3f} {refresh:>12.2f}")


if __name__ == "__main__":
    main()
