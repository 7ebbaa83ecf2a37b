"""Core benchmark: issue-ticket throughput and latency, and call-next with 30
counters, against the real server (uvicorn on loopback, its own process, a real
SQLite file), next to a floor measured in the same run: a bare SQLite
insert+commit with the same pragmas.

    .venv/bin/python bench/bench_core.py [--seconds 5] [--database-url URL]
        [--processes N --redis-url URL]

With --processes N, N `lobbyq serve` processes share the database (PostgreSQL) and the
Redis hub, as docs/deployment.md runs them behind nginx; the clients' connections are
spread over them. The load comes from bench/http_load.py (a lean keep-alive client), so
that the load generator's own CPU does not starve the server on a 2-core machine; the
"server CPU" column is the servers' CPU time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.http_load import Connection  # noqa: E402

COUNTERS = 30
KIOSK_TOKEN = "bench-kiosk-token"
PASSWORD = "bench-password-1"
API = "/api/v1"


def write_config(folder: Path, database_url: str, redis_url: str = "") -> Path:
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
redis_url = "{redis_url}"
data_dir = "{folder / "data"}"
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


class Servers:
    """The server processes under test; clients are spread over them (as nginx would)."""

    def __init__(self, processes: list[subprocess.Popen[bytes]], ports: list[int]) -> None:
        self.processes = processes
        self.ports = ports

    def connection(self, index: int, headers: dict[str, str] | None = None) -> Connection:
        return Connection("127.0.0.1", self.ports[index % len(self.ports)], headers)

    def cpu_s(self) -> float:
        """CPU seconds the servers have used so far (user + system)."""
        total = 0.0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@dataclass
class Run:
    rate: float | None
    latencies: list[float]
    errors: int = 0
    cpu_ms: float | None = None  # server CPU per request


async def request(
    connection: Connection, method: str, path: str, body: object = None
) -> tuple[int, bytes]:
    """(status, body), or (0, b"") when the request failed (counted as an error)."""
    try:
        return await connection.request(method, API + path, body)
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
        await connection.close()
        return 0, b""


async def issue_closed_loop(servers: Servers, clients: int, seconds: float) -> Run:
    """`clients` kiosks each issuing back to back for `seconds`."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    connections = [servers.connection(i, headers) for i in range(clients)]
    for connection in connections:
        await connection.open()
    stop = time.perf_counter() + seconds

    async def kiosk(index: int) -> None:
        nonlocal errors
        body = {"service": "A" if index % 2 else "B", "print": False}
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, _ = await request(connections[index], "POST", "/branches/b1/tickets", body)
            latencies.append(time.perf_counter() - started)
            if status != 201:
                errors += 1

    cpu = servers.cpu_s()
    began = time.perf_counter()
    await asyncio.gather(*(kiosk(i) for i in range(clients)))
    elapsed = time.perf_counter() - began
    cpu_ms = 1000 * (servers.cpu_s() - cpu) / max(1, len(latencies))
    for connection in connections:
        await connection.close()
    return Run(len(latencies) / elapsed, latencies, errors, cpu_ms)


async def issue_open_loop(servers: Servers, rate: float, seconds: float) -> Run:
    """Tickets at a fixed rate (a busy morning is far below this), latency of each;
    each request on a free keep-alive connection, a new one when all are busy."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    idle: list[Connection] = []
    made = 0

    async def one() -> None:
        nonlocal errors, made
        if idle:
            connection = idle.pop()
        else:
            connection = servers.connection(made, headers)
            made += 1
        started = time.perf_counter()
        status, _ = await request(
            connection, "POST", "/branches/b1/tickets", {"service": "A", "print": False}
        )
        latencies.append(time.perf_counter() - started)
        idle.append(connection)
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
    for connection in idle:
        await connection.close()
    return Run(None, latencies, errors)


async def call_next_30(servers: Servers, seconds: float) -> Run:
    """30 counters, each signed in, calling and completing back to back."""
    latencies: list[float] = []
    errors = 0
    connections = []
    for n in range(1, COUNTERS + 1):
        connection = servers.connection(n)
        _, body = await connection.request(
            "POST", API + "/auth/login", {"username": f"t{n}", "password": PASSWORD}
        )
        connection.headers["Authorization"] = f"Bearer {json.loads(body)['access_token']}"
        await connection.request("POST", API + f"/branches/b1/counters/{n}/open")
        connections.append(connection)
    stop = time.perf_counter() + seconds

    async def counter(n: int, connection: Connection) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, body = await request(connection, "POST", f"/branches/b1/counters/{n}/call-next")
            latencies.append(time.perf_counter() - started)
            if status == 200:
                status, body = await request(
                    connection, "POST", f"/branches/b1/counters/{n}/complete"
                )
                if status != 200:
                    errors += 1
                    print(f"complete at counter {n}: {status} {body[:200]!r}", file=sys.stderr)
            elif status != 204:
                errors += 1
                print(f"call-next at counter {n}: {status} {body[:200]!r}", file=sys.stderr)

    cpu = servers.cpu_s()
    began = time.perf_counter()
    await asyncio.gather(*(counter(n, c) for n, c in enumerate(connections, start=1)))
    elapsed = time.perf_counter() - began
    cpu_ms = 1000 * (servers.cpu_s() - cpu) / max(1, len(latencies))
    for connection in connections:
        await connection.close()
    return Run(len(latencies) / elapsed, latencies, errors, cpu_ms)


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


def row(name: str, run: Run) -> str:
    rate_text = f"{run.rate:9.0f}" if run.rate is not None else " " * 9
    p50, p99 = pct(run.latencies, 50) * 1000, pct(run.latencies, 99) * 1000
    cpu = f"{run.cpu_ms:9.2f}" if run.cpu_ms is not None else " " * 9
    return f"| {name:<38} | {rate_text} | {p50:8.2f} | {p99:8.2f} | {cpu} | {run.errors:6d} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    if args.processes > 1 and not args.redis_url:
        parser.error("--processes > 1 needs --redis-url (the processes' shared hub)")
    folder = Path(tempfile.mkdtemp(prefix="lobbyq-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'lobbyq.db'}"
    config = write_config(folder, url, args.redis_url)
    ports = [free_port() for _ in range(args.processes)]
    processes = []
    for port in ports:  # one after the other: each applies the migrations on start
        processes.append(start_server(config, port))
    servers = Servers(processes, ports)
    lines = [
        f"database: {'SQLite file' if url.startswith('sqlite') else 'PostgreSQL'}; "
        f"{args.processes} server process(es); {os.cpu_count()} cores; "
        f"{args.seconds:g} s per row",
        "",
        "| work                                   | per second | p50 ms   | p99 ms   "
        "| server CPU ms | errors |",
        "|----------------------------------------|-----------:|---------:|---------:"
        "|----------:|-------:|",
    ]
    try:
        floor_rate, floor_lat = sqlite_floor(folder, args.seconds)
        lines.append(row("floor: bare SQLite insert+commit", Run(floor_rate, floor_lat)))
        best = 0.0
        for clients in (1, 16, 64):
            run = asyncio.run(issue_closed_loop(servers, clients, args.seconds))
            best = max(best, run.rate or 0.0)
            lines.append(row(f"issue ticket, {clients} concurrent clients", run))
            print(lines[-1], flush=True)
        run = asyncio.run(issue_open_loop(servers, 100, args.seconds))
        lines.append(row("issue ticket at a steady 100/s", run))
        run = asyncio.run(call_next_30(servers, args.seconds))
        lines.append(row("call-next, 30 counters calling", run))
        lines.append("")
        lines.append(f"issue throughput / bare SQLite commit: {best / floor_rate:.3f}")
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
