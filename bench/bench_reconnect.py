"""Reconnect storm: N displays connect at once (as after a server restart) and each
must get the branch's snapshot first. Measured: the time until every client has its
snapshot, and each client's connect -> snapshot latency (p50/p99).

    .venv/bin/python bench/bench_reconnect.py [--clients 5000] [--waiting 100]

LobbyQ runs as `lobbyq serve` does (bench_display.py's serve-lobbyq: uvicorn, the
fan-out protocol, SQLite, in-process hub) with `--waiting` tickets in the line, so
the snapshot has its real size. The floor, in the same run: a bare `websockets`
server that sends a message of the same size on every connection. The clients are
bench_display.py's LightClient (a real handshake, offering permessage-deflate as
Chromium does), all started at once from this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_display import (  # noqa: E402
    LightClient,
    free_port,
    lobbyq_config,
    raise_fd_limit,
    start_lobbyq,
    wait_http,
    wait_port,
)


def serve_floor(port: int, payload: str) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    raise_fd_limit()

    async def handler(connection: ServerConnection) -> None:
        try:
            await connection.send(payload)
            await connection.wait_closed()
        except Exception:
            pass

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, backlog=8192, compression=None):
            await asyncio.Future()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Storm:
    total_s: float  # until the last client has its snapshot
    firsts: list[float]  # each client's connect -> snapshot, ms
    missing: int  # clients that got nothing within the deadline
    client_cpu_s: float  # this process (the clients) during the storm
    server_cpu_s: float  # the server process during the storm


async def storm(url: str, count: int, server_pid: int, profile: Any = None) -> Storm:
    """All clients at once, measured with the CPU each side used."""
    loop = asyncio.get_running_loop()
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    firsts: list[float] = []
    done = asyncio.Event()
    clients: list[LightClient] = []

    async def one() -> None:
        started = time.perf_counter()
        got = False

        def on_text(data: bytes, now: float) -> None:
            nonlocal got
            if not got:
                got = True
                firsts.append((now - started) * 1000)
                if len(firsts) >= count:
                    done.set()

        client = LightClient(url, on_text)
        clients.append(client)
        try:
            await loop.create_connection(lambda: client, host, int(port))
        except OSError:
            return

    server_cpu = cpu_s(server_pid)
    client_cpu = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 120)
    total = time.perf_counter() - t0
    client_cpu = time.process_time() - client_cpu
    server_cpu = cpu_s(server_pid) - server_cpu
    if profile is not None:
        profile.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        profile.wait(60)
    for client in clients:
        client.close()
        if client.opened.done() and not client.opened.cancelled():
            client.opened.exception()  # retrieved: a refused client is counted as missing
    await asyncio.sleep(1.0)
    return Storm(total, firsts, count - len(firsts), client_cpu, server_cpu)


def stop(process: subprocess.Popen[bytes]) -> None:
    """A server busy closing thousands of sockets may take long to exit: kill it then."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def row(label: str, count: int, measured: Storm) -> str:
    ordered = sorted(measured.firsts) or [float("nan")]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return (
        f"| {label:<28} | {count:>7} | {measured.total_s:>8.2f} | {pct(0.5):>8.0f} | "
        f"{pct(0.99):>8.0f} | {measured.missing:>7} | {measured.server_cpu_s:>12.2f} | "
        f"{measured.client_cpu_s:>12.2f} |"
    )


def start_profile(py_spy: str | None, pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server until SIGINT (collapsed stacks, one line each)."""
    if not py_spy:
        return None
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--format",
            "raw",
            "--nonblocking",
            "-o",
            str(out),
        ]
    )


async def run(count: int, waiting: int, py_spy: str | None = None) -> list[str]:
    raise_fd_limit()
    lobbyq, payload = await run_lobbyq(count, waiting, py_spy)
    floor = await run_floor(count, payload)
    return [f"snapshot: {len(payload.encode())} bytes, {waiting} waiting", floor, lobbyq]


async def run_lobbyq(count: int, waiting: int, py_spy: str | None) -> tuple[str, str]:
    """LobbyQ's storm: its table row, and the snapshot message the floor is to send."""
    from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN

    with tempfile.TemporaryDirectory(prefix="lobbyq-storm-") as tmp:
        config = lobbyq_config(Path(tmp))
        port = free_port()
        process = start_lobbyq(config, port, "lobbyq", Path(tmp) / "trace.txt")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/api/v1/health", timeout=300)
            kiosk = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
            with httpx.Client(base_url=base + "/api/v1", timeout=30) as api:
                for i in range(waiting):
                    api.post(
                        "/branches/b1/tickets",
                        json={"service": "ABC"[i % 3], "print": False},
                        headers=kiosk,
                    ).raise_for_status()
                queue = api.get(
                    "/branches/b1/queue", headers={"Authorization": f"Bearer {DISPLAY_TOKEN}"}
                ).json()
            payload = json.dumps(
                {"type": "snapshot", "seq": queue["seq"], "data": queue},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            url = f"ws://127.0.0.1:{port}/ws/branches/b1?token={DISPLAY_TOKEN}"
            await storm(url, 50, process.pid)  # warm-up: imports, first snapshot
            profile = start_profile(py_spy, process.pid, ROOT / "test-artifacts/reconnect.txt")
            measured = await storm(url, count, process.pid, profile)
            return row("LobbyQ (`lobbyq serve`)", count, measured), payload
        finally:
            stop(process)


async def run_floor(count: int, payload: str) -> str:
    floor_port = free_port()
    floor = subprocess.Popen(
        [sys.executable, __file__, "serve-floor", str(floor_port)],
        stdin=subprocess.PIPE,
        cwd=ROOT,
    )
    assert floor.stdin is not None
    floor.stdin.write(payload.encode())
    floor.stdin.close()
    try:
        wait_port(floor_port)
        url = f"ws://127.0.0.1:{floor_port}/"
        await storm(url, 50, floor.pid)
        measured = await storm(url, count, floor.pid)
        return row("floor: bare websockets", count, measured)
    finally:
        stop(floor)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve-floor":
        serve_floor(int(sys.argv[2]), sys.stdin.read())
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--waiting", type=int, default=100)
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="py-spy executable: record LobbyQ's server during its storm "
        "(collapsed stacks in test-artifacts/reconnect.txt)",
    )
    args = parser.parse_args()
    try:  # the clients' loop: uvloop when installed, for both servers alike
        import uvloop

        lines = uvloop.run(run(args.clients, args.waiting, args.py_spy))
    except ImportError:
        lines = asyncio.run(run(args.clients, args.waiting, args.py_spy))
    print(lines[0])
    print(
        "| server                       | clients |  all s   | p50 ms   | p99 ms   | missing |"
        " server CPU s | client CPU s |"
    )
    print(
        "|------------------------------|--------:|---------:|---------:|---------:|--------:|"
        "-------------:|-------------:|"
    )
    for line in lines[1:]:
        print(line)


if __name__ == "__main__":
    main()
