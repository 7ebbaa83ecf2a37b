"""The slots of a day for one service, with 10,000 bookings in the database.

Fills a fresh database (SQLite file, or --database-url) with N bookings through the
real use-case (`server.customer.booking.book`, the same upserts a customer's POST
takes), starts `lobbyq serve` in its own process, and asks
GET /api/v1/branches/b1/booking/slots?service=A&date=D for a full day, one request at
a time over a keep-alive connection. Beside it, in the same run: the floor (GET
/api/v1/branches, a route that reads no table) and the use-case alone, in process.

    .venv/bin/python bench/bench_booking.py [--bookings 10000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_core  # noqa: E402
from bench.bench_core import free_port, pct, start_server  # noqa: E402
from bench.http_load import Connection  # noqa: E402
from server.app import prepare_database  # noqa: E402
from server.config import load_config  # noqa: E402
from server.customer import booking as booking_rules  # noqa: E402
from server.db import Database  # noqa: E402

TARGET_P99_MS = 20.0


BOOKING = """
[branches.booking]
days_ahead = 30
slot_min = 30
hours = "08:00-20:00"
capacity = { A = 12, B = 12 }
per_phone_per_day = 2
"""


def write_config(folder: Path, database_url: str) -> Path:
    """bench_core's branch (services A and B), with bookings on and no public limit."""
    path = bench_core.write_config(folder, database_url)
    text = path.read_text(encoding="utf-8").replace(
        "login_attempts_per_minute = 1000",
        "login_attempts_per_minute = 1000\npublic_requests_per_minute = 1000000",
    )
    path.write_text(text + BOOKING, encoding="utf-8")
    return path


def fill(config_path: Path, count: int, now: datetime) -> tuple[str, float]:
    """N bookings over the next days, A and B alternately, each slot filled in turn.
    Returns the busiest day (ISO) and the seconds it took."""
    config = load_config(config_path)
    db = Database(config.server.database_url)
    prepare_database(config, db)
    branch = config.branches[0]
    started = time.perf_counter()
    days = booking_rules.booking_days(branch, now)[1:]  # from tomorrow: every slot ahead
    places = []
    for day in days:
        for service in ("A", "B"):
            times = booking_rules.slot_times(branch, branch.service(service), day)  # type: ignore[arg-type]
            for at in times:
                places.extend((service, at) for _ in range(12))
    places = places[:count]
    for start in range(0, len(places), 500):
        with db.write() as session:
            for i, (service, at) in enumerate(places[start : start + 500], start=start):
                booking_rules.book(
                    session=session,
                    branch=branch,
                    service=service,
                    at=at,
                    name=f"客户{i}",
                    phone=f"139{i:08d}",
                    now=now,
                )
    db.dispose()
    return days[0].isoformat(), time.perf_counter() - started


def in_process(config_path: Path, day: str, requests: int, now: datetime) -> list[float]:
    config = load_config(config_path)
    db = Database(config.server.database_url)
    branch = config.branches[0]
    out = []
    for _ in range(requests):
        t0 = time.perf_counter()
        with db.read() as session:
            booking_rules.slots(
                session=session,
                branch=branch,
                service="A",
                day=datetime.fromisoformat(day).date(),
                now=now,
            )
        out.append((time.perf_counter() - t0) * 1000)
    db.dispose()
    return out


async def over_http(port: int, path: str, requests: int) -> list[float]:
    connection = Connection("127.0.0.1", port)
    for _ in range(50):  # warm up
        await connection.request("GET", path)
    out = []
    for _ in range(requests):
        t0 = time.perf_counter()
        status, _ = await connection.request("GET", path)
        out.append((time.perf_counter() - t0) * 1000)
        assert status == 200, status
    await connection.close()
    return out


def line(name: str, values: list[float]) -> str:
    return f"| {name:<46} | {len(values):>8} | {pct(values, 50):>7.2f} | {pct(values, 99):>7.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        config_path = write_config(folder, url)
        now = datetime.now(UTC)
        day, seconds = fill(config_path, args.bookings, now)
        print(f"filled {args.bookings} bookings in {seconds:.1f} s; measuring {day}")
        direct = in_process(config_path, day, args.requests, now + timedelta(seconds=1))
        port = free_port()
        server = start_server(config_path, port, wait_s=300)  # a loaded machine starts slowly
        try:
            floor = asyncio.run(over_http(port, "/api/v1/branches", args.requests))
            slots = asyncio.run(
                over_http(
                    port, f"/api/v1/branches/b1/booking/slots?service=A&date={day}", args.requests
                )
            )
        finally:
            server.terminate()
            server.wait(10)
    print()
    print(f"| {'work':<46} | requests | p50 ms  | p99 ms  |")
    print(f"|{'-' * 48}|---------:|--------:|--------:|")
    print(line("floor: GET /branches (reads no table)", floor))
    print(line("slots of a day, use-case in process", direct))
    print(line(f"GET booking/slots, {args.bookings} bookings", slots))
    verdict = "met" if pct(slots, 99) <= TARGET_P99_MS else "NOT met"
    print(f"\ntarget p99 <= {TARGET_P99_MS:.0f} ms over HTTP: {verdict} ({pct(slots, 99):.2f} ms)")


if __name__ == "__main__":
    main()
