"""SIGTERM on a real `lobbyq serve` with 500 WebSocket clients (phones on
/ws/tickets/{token} among them) and a request in flight: the request is answered and
kept, every client gets a close frame 1001, new connections are refused, and the
process is gone within 5 s."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select

from server.db import Database
from server.models import Ticket
from tests.scale.procs import ServerProcess, config_data, write_config
from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, run_async

DISPLAYS = 440
PHONES = 60
STOP_WITHIN_S = 5.0


def issue_tickets(server: ServerProcess, count: int) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    with httpx.Client(base_url=server.api, headers=headers, timeout=60) as http:
        return [
            http.post("/branches/b1/tickets", json={"service": "A", "print": False}).json()
            for _ in range(count)
        ]


def slow_request_start(server: ServerProcess) -> tuple[socket.socket, bytes]:
    """An issue request whose body is still on its way: in flight when SIGTERM comes."""
    body = json.dumps({"service": "B", "print": False}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (
        f"POST /api/v1/branches/b1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KIOSK_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:5])
    return sock, body[5:]


def read_response(sock: socket.socket) -> str:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks).decode(errors="replace")


async def hold_clients(
    server: ServerProcess, phones: list[str], stop: Any
) -> tuple[list[int | None], float, float]:
    """Connect every client, have `stop()` send SIGTERM, and collect each close code."""
    headers = {"Authorization": f"Bearer {DISPLAY_TOKEN}"}
    seq = httpx.get(f"{server.api}/branches/b1/queue", headers=headers, timeout=60).json()["seq"]
    # since= the current seq: the TVs resume (as after a reconnect), no snapshot each.
    urls = [f"{server.ws}/ws/branches/b1?token={DISPLAY_TOKEN}&since={seq}"] * DISPLAYS
    urls += [f"{server.ws}/ws/tickets/{token}" for token in phones]
    connected = 0
    all_in = asyncio.Event()

    async def client(url: str) -> int | None:
        nonlocal connected
        for _ in range(20):
            try:
                ws = await websockets.connect(url, open_timeout=60, close_timeout=10)
                break
            except (OSError, TimeoutError, websockets.WebSocketException):
                await asyncio.sleep(0.5)
        else:
            return -1
        async with ws:
            connected += 1  # the server accepted it
            if connected == len(urls):
                all_in.set()
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed:
                pass
            return ws.close_code

    tasks = []
    for url in urls:  # a few at a time, as screens and phones come
        tasks.append(asyncio.ensure_future(client(url)))
        if len(tasks) % 25 == 0:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(all_in.wait(), timeout=240)
    signalled, exited = await asyncio.get_running_loop().run_in_executor(None, stop)
    codes = await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return codes, signalled, exited


@pytest.mark.timeout(900)
def test_sigterm_closes_500_clients_answers_in_flight_and_exits_within_5s(
    workdir: Path,
) -> None:
    database = workdir / "lobbyq.db"
    config = write_config(
        workdir / "lobbyq.toml",
        config_data(f"sqlite:///{database}", workdir / "data", users=()),
    )
    server = ServerProcess(config, log=workdir / "server.log").start()
    try:
        phones = [t["token"] for t in issue_tickets(server, PHONES)]
        in_flight: dict[str, Any] = {}

        def stop() -> tuple[float, float]:
            assert server.proc is not None
            in_flight["sock"], rest = slow_request_start(server)
            time.sleep(0.3)  # the server has read the head and waits for the body
            server.proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            time.sleep(0.3)
            in_flight["sock"].sendall(rest)
            in_flight["response"] = read_response(in_flight["sock"])
            server.proc.wait(timeout=30)
            return signalled, time.monotonic()

        codes, signalled, exited = run_async(hold_clients(server, phones, stop), timeout=400)
    finally:
        server.kill()

    # uvicorn ends a graceful stop by raising the signal again: "terminated by SIGTERM".
    assert server.proc is not None and server.proc.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in server.log.read_text(), server.tail()
    print(f"SIGTERM to exit: {exited - signalled:.2f} s with {DISPLAYS + PHONES} WebSockets")
    assert exited - signalled < STOP_WITHIN_S, f"exit took {exited - signalled:.1f} s"
    assert codes.count(1001) == DISPLAYS + PHONES, sorted(set(map(str, codes)))
    # The request in flight was answered and its ticket kept.
    response = in_flight["response"]
    assert response.startswith("HTTP/1.1 201"), response[:300]
    number = json.loads(response.split("\r\n\r\n", 1)[1])["number"]
    db = Database(f"sqlite:///{database}")
    with db.read() as session:
        assert session.exec(select(Ticket).where(Ticket.number == number)).first() is not None
    db.dispose()
    # Nothing listens any more.
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    assert refused
