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
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.http_load import Connection  # noqa: E402
from bench.line_seed import top_up  # noqa: E402

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


def start_server(config: Path, port: int, wait_s: float = 60) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + wait_s
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


async def sign_in_counters(servers: Servers) -> list[Connection]:
    """The 30 tellers, each signed in at their counter and the counter open."""
    connections = []
    for n in range(1, COUNTERS + 1):
        connection = servers.connection(n)
        _, body = await connection.request(
            "POST", API + "/auth/login", {"username": f"t{n}", "password": PASSWORD}
        )
        connection.headers["Authorization"] = f"Bearer {json.loads(body)['access_token']}"
        await connection.request("POST", API + f"/branches/b1/counters/{n}/open")
        connections.append(connection)
    return connections


@dataclass
class Calls:
    """What the call-next rows gather: call-next latencies, and errors."""

    latencies: list[float]
    errors: int = 0


async def call_and_complete(calls: Calls, connection: Connection, n: int) -> None:
    """Call-next at counter n (its latency kept), then complete the ticket called."""
    started = time.perf_counter()
    status, body = await request(connection, "POST", f"/branches/b1/counters/{n}/call-next")
    calls.latencies.append(time.perf_counter() - started)
    if status == 200:
        status, body = await request(connection, "POST", f"/branches/b1/counters/{n}/complete")
        if status != 200:
            calls.errors += 1
            print(f"complete at counter {n}: {status} {body[:200]!r}", file=sys.stderr)
    elif status != 204:
        calls.errors += 1
        print(f"call-next at counter {n}: {status} {body[:200]!r}", file=sys.stderr)


async def measured(servers: Servers, calls: Calls, work: Any) -> Run:
    """Run the counters' work; the servers' CPU per call-next (and its complete)."""
    cpu = servers.cpu_s()
    began = time.perf_counter()
    await work
    elapsed = time.perf_counter() - began
    cpu_ms = 1000 * (servers.cpu_s() - cpu) / max(1, len(calls.latencies))
    return Run(len(calls.latencies) / elapsed, calls.latencies, calls.errors, cpu_ms)


async def call_next_closed(servers: Servers, counters: list[Connection], seconds: float) -> Run:
    """Saturation: every counter calls and completes back to back, so each request
    waits behind the other 29 counters' (p99 is about 30 x the CPU of a round trip)."""
    calls = Calls([])
    stop = time.perf_counter() + seconds

    async def counter(n: int, connection: Connection) -> None:
        while time.perf_counter() < stop:
            await call_and_complete(calls, connection, n)

    work = asyncio.gather(*(counter(n, c) for n, c in enumerate(counters, start=1)))
    return await measured(servers, calls, work)


async def call_next_paced(
    servers: Servers, counters: list[Connection], seconds: float, every_s: float
) -> Run:
    """Open loop: each counter calls (then completes) once every `every_s`, whatever
    the server's answer time, the counters' phases spread evenly over the period."""
    calls = Calls([])
    began = time.perf_counter()

    async def counter(n: int, connection: Connection) -> None:
        rounds = int(seconds / every_s)
        for k in range(rounds):
            delay = began + (k + (n - 1) / len(counters)) * every_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await call_and_complete(calls, connection, n)

    work = asyncio.gather(*(counter(n, c) for n, c in enumerate(counters, start=1)))
    return await measured(servers, calls, work)


async def call_next_bursts(
    servers: Servers, counters: list[Connection], seconds: float, window_s: float, every_s: float
) -> Run:
    """Every `every_s`, all counters press call-next within the same `window_s`."""
    calls = Calls([])
    began = time.perf_counter()
    spread = random.Random(7)

    async def counter(n: int, connection: Connection) -> None:
        for k in range(max(1, int(seconds / every_s))):
            at = began + k * every_s + spread.uniform(0, window_s)
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await call_and_complete(calls, connection, n)

    work = asyncio.gather(*(counter(n, c) for n, c in enumerate(counters, start=1)))
    return await measured(servers, calls, work)


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


async def health_floor(servers: Servers, clients: int, seconds: float) -> Run:
    """The floor of the call-next rows: `clients` connections asking GET /health (one
    HTTP round trip through the same middleware, one database read) back to back."""
    latencies: list[float] = []
    errors = 0
    connections = [servers.connection(i) for i in range(clients)]
    stop = time.perf_counter() + seconds

    async def client(connection: Connection) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, _ = await request(connection, "GET", "/health")
            latencies.append(time.perf_counter() - started)
            errors += status != 200

    cpu = servers.cpu_s()
    began = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    elapsed = time.perf_counter() - began
    cpu_ms = 1000 * (servers.cpu_s() - cpu) / max(1, len(latencies))
    for connection in connections:
        await connection.close()
    return Run(len(latencies) / elapsed, latencies, errors, cpu_ms)


async def call_next_rows(
    servers: Servers, line: LongLine, seconds: float, every_s: float
) -> list[tuple[str, Run]]:
    """The call-next rows, each started with `line.waiting` tickets waiting."""
    counters = await sign_in_counters(servers)
    n = len(counters)
    rows = []
    line.top_up()
    rows.append(
        (
            f"call-next, {n} counters back to back",
            await call_next_closed(servers, counters, seconds),
        )
    )
    line.top_up()
    run = await call_next_paced(servers, counters, max(seconds, 2 * every_s), every_s)
    rows.append((f"call-next, {n} counters, each every {every_s:g} s", run))
    line.top_up()
    run = await call_next_bursts(servers, counters, max(seconds, 2 * every_s), 0.1, every_s)
    rows.append((f"call-next, {n} counters within 100 ms", run))
    for connection in counters:
        await connection.close()
    return rows


@dataclass
class LongLine:
    """Keeps `waiting` tickets waiting before each call-next row (bench/line_seed.py)."""

    config: Path
    url: str
    waiting: int

    def top_up(self) -> None:
        if self.waiting <= 0:
            return
        from server.config import load_config
        from server.db import Database

        settings = load_config(self.config).branch("b1")
        assert settings is not None
        db = Database(self.url)
        try:
            top_up(db, settings, self.waiting, datetime.now(UTC))
        finally:
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--waiting", type=int, default=5000, help="tickets waiting when a call-next row starts"
    )
    parser.add_argument(
        "--every", type=float, default=2.0, help="each counter's call period in the paced rows"
    )
    parser.add_argument(
        "--rows", default="issue,call", help="which rows: issue, call, or both (issue,call)"
    )
    args = parser.parse_args()
    if args.processes > 1 and not args.redis_url:
        parser.error("--processes > 1 needs --redis-url (the processes' shared hub)")
    which = set(args.rows.split(","))
    folder = Path(tempfile.mkdtemp(prefix="lobbyq-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'lobbyq.db'}"
    config = write_config(folder, url, args.redis_url)
    ports = [free_port() for _ in range(args.processes)]
    processes = []
    for port in ports:  # one after the other: each applies the migrations on start
        processes.append(start_server(config, port, wait_s=300))  # slow on a loaded machine
    servers = Servers(processes, ports)
    lines = [
        f"database: {'SQLite file' if url.startswith('sqlite') else 'PostgreSQL'}; "
        f"{args.processes} server process(es); {os.cpu_count()} cores; "
        f"{args.seconds:g} s per row; {args.waiting} waiting at each call-next row's start",
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
        if "issue" in which:
            for clients in (1, 16, 64):
                run = asyncio.run(issue_closed_loop(servers, clients, args.seconds))
                best = max(best, run.rate or 0.0)
                lines.append(row(f"issue ticket, {clients} concurrent clients", run))
                print(lines[-1], flush=True)
            run = asyncio.run(issue_open_loop(servers, 100, args.seconds))
            lines.append(row("issue ticket at a steady 100/s", run))
        if "call" in which:
            run = asyncio.run(health_floor(servers, COUNTERS, args.seconds))
            lines.append(row(f"floor: GET /health, {COUNTERS} back to back", run))
            line = LongLine(config, url, args.waiting)
            for name, run in asyncio.run(call_next_rows(servers, line, args.seconds, args.every)):
                lines.append(row(name, run))
                print(lines[-1], flush=True)
        if best:
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
