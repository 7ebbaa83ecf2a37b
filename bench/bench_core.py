"""Core benchmark: issue-ticket throughput and latency, and call-next with 30
counters, against the real server (uvicorn on loopback, its own process, a real
SQLite file), next to a floor measured in the same run: a bare SQLite
insert+commit with the same pragmas.

    .venv/bin/python bench/bench_core.py [--seconds 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = 30
KIOSK_TOKEN = "bench-kiosk-token"
PASSWORD = "bench-password-1"


def write_config(folder: Path, database_url: str) -> Path:
    counters = "\n".join(
        f'[[branches.counters]]\nnumber = "{n}"\nservices = ["A", "B"]\n'
        for n in range(1, COUNTERS + 1)
    )
    users = "\n".join(
        f'[[users]]\nusername = "t{n}"\npassword = "{PASSWORD}"\nrole = "teller"\n'
        for n in range(1, COUNTERS + 1)
    )
    text = f"""
[server]
database_url = "{database_url}"
data_dir = "{folder / "data"}"
secret_key = "bench-secret-key"
login_attempts_per_minute = 1000

{users}

[[branches]]
code = "b1"
name = {{ zh = "压测支行", en = "Bench Branch" }}

[[branches.services]]
code = "A"
prefix = "A"
name = {{ zh = "现金", en = "Cash" }}

[[branches.services]]
code = "B"
prefix = "B"
name = {{ zh = "非现金", en = "Non-cash" }}

[[branches.priorities]]
code = "vip"
weight = 4
prefix = "V"

{counters}

[[branches.kiosks]]
id = "k1"
token = "{KIOSK_TOKEN}"
"""
    path = folder / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def post(
    client: httpx.AsyncClient, path: str, body: object, headers: dict[str, str] | None = None
) -> int:
    """The status, or 0 when the request failed (counted as an error)."""
    try:
        response = await client.post(path, json=body, headers=headers)
    except httpx.HTTPError:
        return 0
    return response.status_code


async def issue_closed_loop(
    api: str, clients: int, seconds: float
) -> tuple[float, list[float], int]:
    """`clients` kiosks each issuing back to back for `seconds`."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=api, headers=headers, limits=limits, timeout=30
    ) as client:

        async def kiosk(index: int) -> None:
            nonlocal errors
            service = "A" if index % 2 else "B"
            while time.perf_counter() < stop:
                started = time.perf_counter()
                status = await post(
                    client, "/branches/b1/tickets", {"service": service, "print": False}
                )
                latencies.append(time.perf_counter() - started)
                if status != 201:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(kiosk(i) for i in range(clients)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, errors


async def issue_open_loop(api: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Tickets at a fixed rate (a busy morning is far below this), latency of each."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    limits = httpx.Limits(max_connections=400)
    async with httpx.AsyncClient(
        base_url=api, headers=headers, limits=limits, timeout=30
    ) as client:

        async def one() -> None:
            nonlocal errors
            started = time.perf_counter()
            status = await post(client, "/branches/b1/tickets", {"service": "A", "print": False})
            latencies.append(time.perf_counter() - started)
            if status != 201:
                errors += 1

        tasks = []
        began = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies, errors


async def call_next_30(api: str, seconds: float) -> tuple[float, list[float], int]:
    """30 counters, each signed in, calling and completing back to back."""
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        tokens = []
        for n in range(1, COUNTERS + 1):
            login = await client.post(
                "/auth/login", json={"username": f"t{n}", "password": PASSWORD}
            )
            token = login.json()["access_token"]
            tokens.append(token)
            await client.post(
                f"/branches/b1/counters/{n}/open", headers={"Authorization": f"Bearer {token}"}
            )

        stop = time.perf_counter() + seconds

        async def counter(n: int, token: str) -> None:
            nonlocal errors
            headers = {"Authorization": f"Bearer {token}"}
            while time.perf_counter() < stop:
                started = time.perf_counter()
                status = await post(client, f"/branches/b1/counters/{n}/call-next", None, headers)
                latencies.append(time.perf_counter() - started)
                if status == 200:
                    await post(client, f"/branches/b1/counters/{n}/complete", None, headers)
                elif status != 204:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(counter(n, t) for n, t in enumerate(tokens, start=1)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, errors


def sqlite_floor(folder: Path, seconds: float) -> tuple[float, list[float]]:
    """A bare insert+commit of one ticket-sized row, same pragmas as LobbyQ."""
    connection = sqlite3.connect(folder / "floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, number TEXT, token TEXT, at TEXT)")
    latencies = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t (number, token, at) VALUES ('A001', 'x', '2026-11-30')")
        connection.execute("COMMIT")
        latencies.append(time.perf_counter() - started)
    connection.close()
    return len(latencies) / seconds, latencies


def row(name: str, rate: float | None, latencies: list[float], errors: int = 0) -> str:
    rate_text = f"{rate:9.0f}" if rate is not None else " " * 9
    p50, p99 = pct(latencies, 50) * 1000, pct(latencies, 99) * 1000
    return f"| {name:<38} | {rate_text} | {p50:8.2f} | {p99:8.2f} | {errors:6d} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lobbyq-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'lobbyq.db'}"
    port = free_port()
    server = start_server(write_config(folder, url), port)
    api = f"http://127.0.0.1:{port}/api/v1"
    lines = [
        f"database: {'SQLite file' if url.startswith('sqlite') else 'PostgreSQL'}; "
        f"{os.cpu_count()} cores; {args.seconds:g} s per row",
        "",
        "| work                                   | per second | p50 ms   | p99 ms   | errors |",
        "|----------------------------------------|-----------:|---------:|---------:|-------:|",
    ]
    try:
        floor_rate, floor_lat = sqlite_floor(folder, args.seconds)
        lines.append(row("floor: bare SQLite insert+commit", floor_rate, floor_lat))
        best = 0.0
        for clients in (1, 16, 64):
            rate, latencies, errors = asyncio.run(issue_closed_loop(api, clients, args.seconds))
            best = max(best, rate)
            lines.append(
                row(f"issue ticket, {clients} concurrent clients", rate, latencies, errors)
            )
            print(lines[-1], flush=True)
        latencies, errors = asyncio.run(issue_open_loop(api, 100, args.seconds))
        lines.append(row("issue ticket at a steady 100/s", None, latencies, errors))
        rate, latencies, errors = asyncio.run(call_next_30(api, args.seconds))
        lines.append(row("call-next, 30 counters calling", rate, latencies, errors))
        lines.append("")
        lines.append(f"issue throughput / bare SQLite commit: {best / floor_rate:.3f}")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
