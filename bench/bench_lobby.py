"""The lobby manager's tablet on the demo branch: how fast each of its requests is
answered by the real server (uvicorn, SQLite file), p50/p99.

    .venv/bin/python bench/bench_lobby.py [--requests 200]

The demo config (config.example.toml) with a realistic history: yesterday simulated in
full (``lobbyq simulate``), and this morning 60 people waiting across the five services
(a tenth VIP) and 20 appointments, a third of them late. Each row is one request of
the tablet, made `--requests` times one after another on a kept-alive connection:
- GET /lobby (appointments, VIP arrivals, longest waits): what every event refreshes;
- POST /tickets as the lobby manager (the kiosk's use-case);
- POST /tickets/{number}/move (a waiting ticket to another service, place kept);
- POST /printers/p1/print (the job queued at the chosen printer).
Floor, same run and connection: GET /health. Target: every request <= 100 ms (p99).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.config import demo_config_path, parse_config  # noqa: E402
from tests.support import FakeClock, live_server  # noqa: E402

TARGET_P99_MS = 100.0
PASSWORD = "bench-password-1"
NOW = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)  # Monday 10:30 in Shanghai


def demo_config(folder: Path) -> Any:
    data = tomllib.loads(demo_config_path().read_text(encoding="utf-8"))
    data["server"]["database_url"] = f"sqlite:///{folder / 'lobbyq.db'}"
    data["server"]["data_dir"] = str(folder / "data")
    for user in data["users"]:
        user["password"] = PASSWORD
    return parse_config(data, source="bench")


def fill(config: Any) -> None:
    """Yesterday in full, through the real use-cases (as `lobbyq simulate` does)."""
    from server.app import prepare_database
    from server.dashboard.simulator import DayPlan, simulate_day
    from server.db import Database

    db = Database(config.server.database_url)
    try:
        prepare_database(config, db)
        branch = config.branches[0]
        yesterday = (NOW.astimezone(branch.zone) - timedelta(days=3)).date()  # the Friday
        simulate_day(branch=branch, write=db.write, read=db.read, day=yesterday, plan=DayPlan())
    finally:
        db.dispose()


def login(api: str, username: str) -> dict[str, str]:
    answer = httpx.post(api + "/auth/login", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def timed(call: Callable[[], httpx.Response], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = call()
        out.append((time.perf_counter() - t0) * 1000)
        if response.status_code >= 400:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return out


def row(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"| {label:<42} | {statistics.median(ordered):>7.2f} | {p99:>7.2f} | {ordered[-1]:>7.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory(prefix="lobbyq-bench-lobby-") as tmp:
        config = demo_config(Path(tmp))
        fill(config)
        branch = config.branches[0]
        clock = FakeClock(NOW)
        with live_server(config, clock) as server:
            base = server.api + f"/branches/{branch.code}"
            tablet_headers = login(server.api, "lobby1")
            with httpx.Client(headers=tablet_headers, timeout=30) as tablet:
                services = [s.code for s in branch.services]
                for i in range(60):
                    body = {"service": services[i % len(services)], "print": False}
                    if i % 10 == 0:
                        body["priority"] = "vip"
                    tablet.post(base + "/tickets", json=body).raise_for_status()
                    clock.advance(20)
                with httpx.Client(headers=login(server.api, "manager"), timeout=30) as manager:
                    for i in range(20):
                        local = (NOW + timedelta(minutes=-45 + 5 * i)).astimezone(branch.zone)
                        booking = {
                            "service": "A",
                            "at": local.strftime("%Y-%m-%d %H:%M"),
                            "customer_name": f"客户{i}",
                        }
                        manager.post(base + "/appointments", json=booking).raise_for_status()
                waiting = tablet.get(base + "/lobby").json()["waits"][0]["longest"][0]["number"]
                token = tablet.post(
                    base + "/tickets", json={"service": "B", "print": False}
                ).json()["token"]
                moves = iter(["B", "A"] * n)
                rows = [
                    ("floor: GET /health", timed(lambda: tablet.get(server.api + "/health"), n)),
                    ("GET /lobby", timed(lambda: tablet.get(base + "/lobby"), n)),
                    (
                        "POST /tickets (lobby manager)",
                        timed(
                            lambda: tablet.post(
                                base + "/tickets", json={"service": "C", "print": False}
                            ),
                            n,
                        ),
                    ),
                    (
                        "POST /tickets/{number}/move",
                        timed(
                            lambda: tablet.post(
                                base + f"/tickets/{waiting}/move", json={"service": next(moves)}
                            ),
                            n,
                        ),
                    ),
                    (
                        "POST /printers/p1/print",
                        timed(
                            lambda: tablet.post(
                                base + "/printers/p1/print", json={"ticket": token}
                            ),
                            n,
                        ),
                    ),
                ]
    print(f"cpus {os.cpu_count()}; load {os.getloadavg()[0]:.1f}; {n} requests each; demo branch")
    print()
    print(f"| {'request':<42} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} |")
    print(f"|{'-' * 44}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for label, values in rows:
        print(row(label, values))
    print()
    print(f"target: every tablet request p99 <= {TARGET_P99_MS:.0f} ms")


if __name__ == "__main__":
    main()
