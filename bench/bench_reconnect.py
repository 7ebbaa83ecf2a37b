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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


async def storm(url: str, count: int) -> tuple[float, list[float], int]:
    """All clients at once; returns (seconds until the last snapshot, per-client
    latencies in ms, clients that got nothing within the deadline)."""
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

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 120)
    total = time.perf_counter() - t0
    for client in clients:
        client.close()
        if client.opened.done() and not client.opened.cancelled():
            client.opened.exception()  # retrieved: a refused client is counted as missing
    await asyncio.sleep(1.0)
    return total, firsts, count - len(firsts)


def stop(process: subprocess.Popen[bytes]) -> None:
    """A server busy closing thousands of sockets may take long to exit: kill it then."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def row(label: str, count: int, total: float, firsts: list[float], missing: int) -> str:
    ordered = sorted(firsts) or [float("nan")]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return (
        f"| {label:<28} | {count:>7} | {total:>8.2f} | {pct(0.5):>8.0f} | {pct(0.99):>8.0f} | "
        f"{missing:>7} |"
    )


async def run(count: int, waiting: int) -> list[str]:
    from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN

    raise_fd_limit()
    rows = []
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
            await storm(url, 50)  # warm-up: imports, first snapshot
            total, firsts, missing = await storm(url, count)
            rows.append(row("LobbyQ (`lobbyq serve`)", count, total, firsts, missing))
        finally:
            stop(process)
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
        await storm(url, 50)
        total, firsts, missing = await storm(url, count)
        rows.insert(0, row("floor: bare websockets", count, total, firsts, missing))
    finally:
        stop(floor)
    rows.insert(0, f"snapshot: {len(payload.encode())} bytes, {waiting} waiting")
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve-floor":
        serve_floor(int(sys.argv[2]), sys.stdin.read())
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--waiting", type=int, default=100)
    args = parser.parse_args()
    lines = asyncio.run(run(args.clients, args.waiting))
    print(lines[0])
    print("| server                       | clients |  all s   | p50 ms   | p99 ms   | missing |")
    print("|------------------------------|--------:|---------:|---------:|---------:|--------:|")
    for line in lines[1:]:
        print(line)


if __name__ == "__main__":
    main()
