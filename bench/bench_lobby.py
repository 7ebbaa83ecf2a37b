"""The lobby manager's tablet on the demo branch: how fast each of its requests is
answered by the real server (`lobbyq serve` in its own process, SQLite file), p50/p99,
and the server's CPU per request (from /proc, so a loaded machine inflates the wall
times but not this column).

    .venv/bin/python bench/bench_lobby.py [--requests 200]

The demo config (config.example.toml) with a realistic history: yesterday simulated in
full (``lobbyq simulate``), and today 60 people waiting across the five services (a
tenth VIP) and 20 appointments, a third of them already late. Each row is one request
of the tablet, made `--requests` times one after another on a kept-alive connection:
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import Servers, start_server  # noqa: E402
from server.config import demo_config_path, load_config  # noqa: E402

TARGET_P99_MS = 100.0


def demo_config(folder: Path) -> Path:
    """config.example.toml with its database and data folder in `folder`."""
    text = demo_config_path().read_text(encoding="utf-8")
    text = text.replace(
        'database_url = "sqlite:///data/lobbyq.db"',
        f'database_url = "sqlite:///{folder}/lobbyq.db"',
    ).replace('data_dir = "data"', f'data_dir = "{folder}/data"')
    path = folder / "lobbyq.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fill_yesterday(config_path: Path) -> None:
    """Yesterday in full, through the real use-cases (as `lobbyq simulate` does)."""
    from server.app import prepare_database
    from server.dashboard.simulator import DayPlan, simulate_day
    from server.db import Database

    config = load_config(config_path)
    db = Database(config.server.database_url)
    try:
        prepare_database(config, db)
        branch = config.branches[0]
        yesterday = (datetime.now(UTC).astimezone(branch.zone) - timedelta(days=1)).date()
        simulate_day(branch=branch, write=db.write, read=db.read, day=yesterday, plan=DayPlan())
    finally:
        db.dispose()


def login(api: str, folder: Path, username: str) -> dict[str, str]:
    passwords = dict(
        line.split("\t")
        for line in (folder / "data" / "initial-passwords.txt").read_text().split("\n")
        if line
    )
    answer = httpx.post(
        api + "/auth/login", json={"username": username, "password": passwords[username]}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def timed(
    servers: Servers, call: Callable[[], httpx.Response], n: int
) -> tuple[list[float], float]:
    """Wall ms of each request, and the server's CPU ms per request."""
    out = []
    cpu = servers.cpu_s()
    for _ in range(n):
        t0 = time.perf_counter()
        response = call()
        out.append((time.perf_counter() - t0) * 1000)
        if response.status_code >= 400:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return out, (servers.cpu_s() - cpu) * 1000 / n


def row(label: str, values: list[float], cpu_ms: float) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"| {label:<34} | {statistics.median(ordered):>7.2f} | {p99:>7.2f} | "
        f"{ordered[-1]:>7.2f} | {cpu_ms:>13.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory(prefix="lobbyq-bench-lobby-") as tmp:
        folder = Path(tmp)
        config_path = demo_config(folder)
        fill_yesterday(config_path)
        config = load_config(config_path)
        branch = config.branches[0]
        port = 18000 + os.getpid() % 1000
        process = start_server(config_path, port)
        servers = Servers([process], [port])
        api = f"http://127.0.0.1:{port}/api/v1"
        base = f"{api}/branches/{branch.code}"
        try:
            with (
                httpx.Client(headers=login(api, folder, "lobby1"), timeout=30) as tablet,
                httpx.Client(headers=login(api, folder, "manager"), timeout=30) as manager,
            ):
                services = [s.code for s in branch.services]
                for i in range(60):
                    body = {"service": services[i % len(services)], "print": False}
                    if i % 10 == 0:
                        body["priority"] = "vip"
                    tablet.post(base + "/tickets", json=body).raise_for_status()
                now = datetime.now(UTC)
                for i in range(20):
                    local = (now + timedelta(minutes=-45 + 5 * i)).astimezone(branch.zone)
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
                    ("floor: GET /health", timed(servers, lambda: tablet.get(api + "/health"), n)),
                    ("GET /lobby", timed(servers, lambda: tablet.get(base + "/lobby"), n)),
                    (
                        "POST /tickets (lobby manager)",
                        timed(
                            servers,
                            lambda: tablet.post(
                                base + "/tickets", json={"service": "C", "print": False}
                            ),
                            n,
                        ),
                    ),
                    (
                        "POST /tickets/{number}/move",
                        timed(
                            servers,
                            lambda: tablet.post(
                                base + f"/tickets/{waiting}/move", json={"service": next(moves)}
                            ),
                            n,
                        ),
                    ),
                    (
                        "POST /printers/p1/print",
                        timed(
                            servers,
                            lambda: tablet.post(
                                base + "/printers/p1/print", json={"ticket": token}
                            ),
                            n,
                        ),
                    ),
                ]
        finally:
            process.terminate()
            process.wait(10)
    print(f"cpus {os.cpu_count()}; load {os.getloadavg()[0]:.1f}; {n} requests each; demo branch")
    print()
    print(
        f"| {'request':<34} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} | {'server CPU ms':>13} |"
    )
    print(f"|{'-' * 36}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 15}|")
    for label, (values, cpu_ms) in rows:
        print(row(label, values, cpu_ms))
    print()
    print(f"target: every tablet request p99 <= {TARGET_P99_MS:.0f} ms")


if __name__ == "__main__":
    main()
