"""Call -> display latency and memory per idle WebSocket, against the real server.

Run: ``.venv/bin/python bench/bench_display.py [--sizes 40,5000] [--calls 30] [--ws lobbyq]
[--hall]``

``--hall`` runs each size <= 200 once more as the hall's mix (issue 14): a third lobby
TVs, a third counter 1's signs and a third its rating pads (counter device token,
``client=sign|pad``), all hearing the same calls at counter 1: a call must reach the
sign and the pad as fast as the TV.

For each size N it starts, in a subprocess each (so their memory is their own):
- LobbyQ: the real app under uvicorn on 127.0.0.1 (SQLite, in-process hub, real
  espeak-ng voice); ``--ws lobbyq`` (the default) runs uvicorn as ``lobbyq serve`` does
  (server/cli.py: the fan-out protocol of server/realtime/fanout.py, permessage-deflate
  off); other entries name a stock uvicorn implementation (``auto``, ``websockets``,
  ``websockets-sansio``, ``wsproto``), with ``+deflate`` for uvicorn's default
  permessage-deflate, e.g. ``--ws lobbyq,websockets-sansio+deflate``;
- the floor: a bare ``websockets`` server (no compression) that rebroadcasts a trigger
  to every client with ``websockets.broadcast``.
Then N clients connect from this process (one event loop; fd limits raised with
setrlimit). They are minimal WebSocket clients (LightClient): a real handshake that
offers permessage-deflate as Chromium (the TV) does, every frame read and inflated if
compressed, pings answered, each message timestamped as its bytes arrive and parsed
after the call; 5,000 full client stacks on the server's 2 cores would measure the
clients. Each measured call:
- LobbyQ: a teller's ``POST .../call-next`` through the HTTP API (then ``complete``,
  unmeasured); latency = from just before the POST until a client has the
  ``ticket.called`` message (so it includes the request, the commit, the hub and
  the fan-out);
- floor: the trigger frame sent on a control connection, until a client has the
  broadcast copy of a ticket.called message of the same size.
Latencies of all clients over all calls give p50/p99; ``missing`` counts the messages
some client never got. Memory per idle connection: (server RSS with N idle clients -
RSS before they connected) / N. A second table splits LobbyQ's side, from the server's
own trace of each delivery: POST sent -> hub delivery starts (request and commit), and
the delivery itself (with ``lobbyq``, writing every frame; with plain ASGI, only waking
the streams, whose sends come after).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONNECT_BATCH = 250


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# --- the servers (subprocess side) -----------------------------------------------------


def ws_options(spec: str) -> dict[str, Any]:
    """uvicorn's WebSocket arguments for a `--ws` entry: `lobbyq` is what `lobbyq serve`
    runs (server/cli.py), else a uvicorn implementation (`auto`, `websockets`,
    `websockets-sansio`, `wsproto`); a `+deflate` suffix turns on permessage-deflate
    (uvicorn's default, taken by Chromium, which offers it), off otherwise."""
    from server.realtime.fanout import FANOUT_WS

    name, _, extra = spec.partition("+")
    return {
        "ws": FANOUT_WS if name == "lobbyq" else name,
        "ws_per_message_deflate": extra == "deflate",
    }


def serve_lobbyq(config_json: str, port: int, ws: str, trace: str) -> None:
    import logging

    import uvicorn

    from server.app import create_app
    from server.config import AppConfig

    raise_fd_limit()
    logging.basicConfig(level=logging.WARNING)
    app = create_app(AppConfig.model_validate_json(config_json))
    # Trace each ticket.called delivery (perf_counter is CLOCK_MONOTONIC: the same
    # clock as the bench process), to split the latency into commit path and fan-out.
    hub = app.state.store.hub
    deliver = hub.deliver
    trace_file = open(trace, "a", buffering=1)  # noqa: SIM115 (open for the process' life)

    def traced(event: Any) -> None:
        start = time.perf_counter()
        deliver(event)
        if event.type == "ticket.called":
            trace_file.write(f"{event.data['number']} {start} {time.perf_counter()}\n")

    hub.deliver = traced
    if ws == "lobbyq":  # exactly what `lobbyq serve` runs (its heap settings included)
        from server.cli import run_server

        run_server(app, host="127.0.0.1", port=port)
        return
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_ping_interval=20,
        backlog=8192,
        **ws_options(ws),
    )


def serve_floor(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    raise_fd_limit()
    clients: set[ServerConnection] = set()

    async def handler(connection: ServerConnection) -> None:
        clients.add(connection)
        try:
            async for message in connection:
                broadcast([c for c in clients if c is not connection], message)
        except Exception:
            pass  # bench clients just drop their sockets at the end
        finally:
            clients.discard(connection)

    async def main() -> None:
        # No compression: the least a fan-out can cost (the clients offer deflate).
        async with serve(
            handler, "127.0.0.1", port, backlog=8192, ping_interval=20, compression=None
        ):
            await asyncio.Future()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


# --- the clients (this process) --------------------------------------------------------


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# What Chromium (the TV) offers on every WebSocket: the server decides whether to compress.
CHROMIUM_EXTENSIONS = "permessage-deflate; client_max_window_bits"


class LightClient(asyncio.Protocol):
    """A minimal WebSocket client on a bare asyncio Protocol. With 5,000 of them in
    one process on the server's 2 cores, a full client library's parsing is what we
    would measure (real TVs are separate machines), so this one does the least an
    honest client must: a real handshake (checks the 101 and Sec-WebSocket-Accept,
    offers permessage-deflate like Chromium and inflates if the server takes it),
    reads every frame (length, fragments, ping -> masked pong), and hands each text
    message on with the time its bytes arrived; JSON is parsed later, off the clock."""

    def __init__(self, uri: str, on_text: Any) -> None:
        host_port, _, path = uri.split("//", 1)[1].partition("/")
        self.request_path = "/" + path
        self.host = host_port
        self.key = base64.b64encode(os.urandom(16))
        self.on_text = on_text
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.inflate: Any = None  # zlib decompressobj when permessage-deflate is on
        self.reset_inflate = False  # server_no_context_takeover
        self.fragments: list[bytes] = []
        self.fragment_compressed = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(
            asyncio.Transport, transport
        )  # uvloop's is not a subclass
        request = (
            f"GET {self.request_path} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Extensions: {CHROMIUM_EXTENSIONS}\r\n\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.opened.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            try:
                self.handshake(head)
            except ConnectionError as refused:
                self.opened.set_exception(refused)
                self.close()
                return
            self.opened.set_result(None)
        self.read_frames(now)

    def handshake(self, head: str) -> None:
        status, *lines = head.split("\r\n")
        if status.split(" ")[1:2] != ["101"]:
            raise ConnectionError(f"handshake refused: {status}")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(self.key + WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise ConnectionError("bad Sec-WebSocket-Accept")
        extension = headers.get("sec-websocket-extensions", "")
        if extension:
            params = [p.strip() for p in extension.split(";")]
            if params[0] != "permessage-deflate":
                raise ConnectionError(f"unexpected extension {extension}")
            bits = 15
            for param in params[1:]:
                name, _, value = param.partition("=")
                if name.strip() == "server_max_window_bits" and value:
                    bits = int(value.strip('"'))
                if name.strip() == "server_no_context_takeover":
                    self.reset_inflate = True
            self.inflate_bits = bits
            self.inflate = zlib.decompressobj(wbits=-bits)

    def read_frames(self, now: float) -> None:
        buffer = self.buffer
        at = 0
        while len(buffer) - at >= 2:
            head1, head2 = buffer[at], buffer[at + 1]
            if head2 & 0x80:
                raise ConnectionError("masked frame from the server")
            length = head2 & 0x7F
            start = at + 2
            if length == 126:
                if len(buffer) - at < 4:
                    break
                length = int.from_bytes(buffer[start : start + 2], "big")
                start += 2
            elif length == 127:
                if len(buffer) - at < 10:
                    break
                length = int.from_bytes(buffer[start : start + 8], "big")
                start += 8
            if len(buffer) < start + length:
                break
            payload = bytes(buffer[start : start + length])
            at = start + length
            self.frame(head1, payload, now)
        if at:
            del buffer[:at]

    def frame(self, head1: int, payload: bytes, now: float) -> None:
        fin, rsv1, opcode = head1 & 0x80, head1 & 0x40, head1 & 0x0F
        if opcode == 0x9:  # ping: answer with a masked pong
            mask = os.urandom(4)
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            assert self.transport is not None
            self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
            return
        if opcode == 0x8:
            self.closed = True
            return
        if opcode in (0x1, 0x2):
            self.fragments = [payload]
            self.fragment_compressed = bool(rsv1)
        elif opcode == 0x0:
            self.fragments.append(payload)
        else:
            return  # pong
        if not fin:
            return
        message = b"".join(self.fragments)
        self.fragments = []
        if self.fragment_compressed:
            if self.inflate is None:
                raise ConnectionError("compressed frame without permessage-deflate")
            message = self.inflate.decompress(message + b"\x00\x00\xff\xff")
            if self.reset_inflate:
                self.inflate = zlib.decompressobj(wbits=-self.inflate_bits)
        if opcode == 0x1:
            self.on_text(message, now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass
class Clients:
    url: str
    count: int
    call_of: Any = None  # message bytes -> call id (parsed after the call, off the clock)
    received: dict[int, list[float]] = field(default_factory=dict)  # call id -> times
    connections: list[LightClient] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = -1
    pending: list[tuple[bytes, float]] = field(default_factory=list)

    def on_text(self, data: bytes, now: float) -> None:
        if b'"ticket.called"' not in data:
            return
        self.pending.append((data, now))
        if len(self.pending) >= self.count:
            self.arrived.set()

    def collect(self) -> None:
        """Sort the messages received so far by call (JSON parsed here)."""
        pending, self.pending = self.pending, []
        for data, now in pending:
            self.received.setdefault(self.call_of(data), []).append(now)

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        host, port = self.url.split("//", 1)[1].split("/", 1)[0].split(":")

        async def one() -> None:
            client = LightClient(self.url, self.on_text)
            await loop.create_connection(lambda: client, host, int(port))
            await asyncio.wait_for(client.opened, 120)
            self.connections.append(client)

        for start in range(0, self.count, CONNECT_BATCH):
            batch = min(CONNECT_BATCH, self.count - start)
            await asyncio.gather(*(one() for _ in range(batch)))

    async def close(self) -> None:
        for client in self.connections:
            client.close()
        await asyncio.sleep(0.5)


@dataclass
class Result:
    server: str
    clients: int
    latencies_ms: list[float]
    missing: int
    kib_per_conn: float
    connect_s: float
    request_ms: list[float] = field(default_factory=list)
    to_hub_ms: list[float] = field(default_factory=list)  # POST sent -> hub delivery starts
    fanout_ms: list[float] = field(default_factory=list)  # the hub delivery to all streams

    def server_row(self) -> str:
        def med_max(values: list[float]) -> str:
            return f"{statistics.median(values):.1f} / {max(values):.1f}" if values else "-"

        return (
            f"| {self.server:<28} | {self.clients:>6} | {med_max(self.to_hub_ms):>15} | "
            f"{med_max(self.fanout_ms):>15} |"
        )

    def row(self) -> str:
        values = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")

        post = f"{statistics.median(self.request_ms):.1f}" if self.request_ms else "-"
        return (
            f"| {self.server:<28} | {self.clients:>6} | {pct(0.50):>8.1f} | {pct(0.99):>8.1f} | "
            f"{(values[-1] if values else float('nan')):>8.1f} | {self.missing:>7} | "
            f"{self.kib_per_conn:>9.1f} | {self.connect_s:>7.1f} | {post:>8} |"
        )


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


async def settle_rss(pid: int, seconds: float = 2.0) -> int:
    await asyncio.sleep(seconds)
    return rss_kib(pid)


async def measure(
    groups: list[Clients], calls: int, fire: Any, server_pid: int, labels: list[str]
) -> list[Result]:
    """Connect every group, take memory, make `calls` calls with `fire(call_id)` -> t0;
    one Result per group (all groups hear the same calls)."""
    before = await settle_rss(server_pid, 1.0)
    started = time.perf_counter()
    for clients in groups:
        await clients.connect()
    connect_s = time.perf_counter() - started
    after = await settle_rss(server_pid, 3.0)
    latencies: list[list[float]] = [[] for _ in groups]
    missing = [0 for _ in groups]
    for call in range(calls):
        for clients in groups:
            clients.expected = call
            clients.collect()
            clients.arrived.clear()
        t0 = await fire(call)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.arrived.wait() for c in groups)), 20)
        for index, clients in enumerate(groups):
            clients.collect()
            times = clients.received.pop(call, [])
            missing[index] += clients.count - len(times)
            latencies[index] += [(t - t0) * 1000 for t in times]
        await asyncio.sleep(0.15)
    for clients in groups:
        await clients.close()
    kib = (after - before) / sum(c.count for c in groups)
    return [
        Result(label, clients.count, latencies[i], missing[i], kib, connect_s)
        for i, (label, clients) in enumerate(zip(labels, groups, strict=True))
    ]


# --- LobbyQ ----------------------------------------------------------------------------


def lobbyq_config(folder: Path) -> Any:
    from tests.devices.helpers import COUNTER_TOKENS
    from tests.support import make_config

    # Counter 1's sign and rating pad share this token (API.md v1.1 counter_devices).
    devices = [{"id": "c1", "counter": "1", "token": COUNTER_TOKENS["1"]}]
    return make_config(f"sqlite:///{folder / 'bench.db'}", folder / "data", counter_devices=devices)


def start_lobbyq(config: Any, port: int, ws: str, trace: Path) -> subprocess.Popen[bytes]:
    """`serve-lobbyq` in a subprocess of its own, the config given on its stdin."""
    process = subprocess.Popen(
        [sys.executable, __file__, "serve-lobbyq", str(port), ws, str(trace)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,  # pyttsx3 prints a line per file
        cwd=ROOT,
    )
    assert process.stdin is not None
    process.stdin.write(config.model_dump_json().encode())
    process.stdin.close()
    return process


# Who listens: lobby TVs (display token), and counter 1's signs and rating pads (its
# counter device token; the server sends them only counter 1's events).
DEVICE_KINDS = ("tv", "sign", "pad")


def device_query(kind: str) -> str:
    from tests.devices.helpers import COUNTER_TOKENS
    from tests.support import DISPLAY_TOKEN

    if kind == "tv":
        return f"token={DISPLAY_TOKEN}"
    return f"token={COUNTER_TOKENS['1']}&client={kind}"


async def bench_lobbyq(
    size: int, calls: int, ws: str, kinds: tuple[str, ...] = ("tv",)
) -> list[Result]:
    """`size` clients split evenly over `kinds`, all hearing the same calls."""
    from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, PASSWORDS

    with tempfile.TemporaryDirectory(prefix="lobbyq-bench-") as tmp:
        config = lobbyq_config(Path(tmp))
        port = free_port()
        trace = Path(tmp) / "deliveries.txt"
        process = start_lobbyq(config, port, ws, trace)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/api/v1/health")
            api = httpx.Client(base_url=base + "/api/v1", timeout=30)
            token = api.post(
                "/auth/login", json={"username": "teller1", "password": PASSWORDS["teller1"]}
            ).json()["access_token"]
            teller = {"Authorization": f"Bearer {token}"}
            kiosk = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
            api.post("/branches/b1/counters/1/open", headers=teller).raise_for_status()
            for _ in range(calls + 2):
                api.post(
                    "/branches/b1/tickets", json={"service": "A", "print": False}, headers=kiosk
                ).raise_for_status()
            # Warm up: the first call pays imports and the first synthesis.
            api.post("/branches/b1/counters/1/call-next", headers=teller).raise_for_status()
            api.post("/branches/b1/counters/1/complete", headers=teller).raise_for_status()
            display = {"Authorization": f"Bearer {DISPLAY_TOKEN}"}
            seq = api.get("/branches/b1/queue", headers=display).json()["seq"]
            ws_base = base.replace("http://", "ws://")
            # Small fleets take the snapshot like a TV; the big one resumes (since) to
            # keep connecting quick: the steady state measured is the same.
            since = f"&since={seq}" if size > 200 else ""
            shares = [
                size // len(kinds) + (1 if i < size % len(kinds) else 0) for i in range(len(kinds))
            ]
            groups = [
                Clients(f"{ws_base}/ws/branches/b1?{device_query(kind)}{since}", share)
                for kind, share in zip(kinds, shares, strict=True)
            ]
            ids: dict[str, int] = {}
            fired: dict[str, float] = {}
            request_ms: list[float] = []

            def call_sync(call: int) -> float:
                t0 = time.perf_counter()
                response = api.post("/branches/b1/counters/1/call-next", headers=teller)
                request_ms.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
                number = response.json()["ticket"]["number"]
                ids[number] = call
                fired[number] = t0
                api.post("/branches/b1/counters/1/complete", headers=teller).raise_for_status()
                return t0

            async def fire(call: int) -> float:
                return await asyncio.to_thread(call_sync, call)

            # The call's number names it in the message; map it to the bench call id.
            def call_of(data: bytes) -> int:
                number = json.loads(data)["data"]["number"]
                return ids.get(number, groups[0].expected)  # the POST may not have returned

            for clients in groups:
                clients.call_of = call_of
            labels = [
                f"LobbyQ ws={ws}" if kinds == ("tv",) else f"LobbyQ {kind}s (mixed {size})"
                for kind in kinds
            ]
            results = await measure(groups, calls, fire, process.pid, labels)
            first = results[0]
            first.request_ms = request_ms
            for line in trace.read_text().splitlines():
                number, start, end = line.split()
                if number in fired:
                    first.to_hub_ms.append((float(start) - fired[number]) * 1000)
                    first.fanout_ms.append((float(end) - float(start)) * 1000)
            return results
        finally:
            process.terminate()
            process.wait(10)


# --- the floor -------------------------------------------------------------------------


async def bench_floor(size: int, calls: int, payload: str) -> Result:
    from websockets.asyncio.client import connect

    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "serve-floor", str(port)], cwd=ROOT)
    try:
        wait_port(port)
        control = await connect(f"ws://127.0.0.1:{port}", ping_interval=None)
        clients = Clients(f"ws://127.0.0.1:{port}/", size)
        clients.call_of = lambda data: json.loads(data)["data"]["bench_id"]

        async def fire(call: int) -> float:
            message = payload.replace("__ID__", str(call))
            t0 = time.perf_counter()
            await control.send(message)
            return t0

        results = await measure([clients], calls, fire, process.pid, ["floor: bare websockets"])
        await control.close()
        return results[0]
    finally:
        process.terminate()
        process.wait(10)


def floor_payload() -> str:
    """A ticket.called message of LobbyQ's size, with a bench id in it."""
    data = {
        "id": 17,
        "number": "A017",
        "service": "A",
        "priority": "normal",
        "status": "called",
        "counter": "1",
        "teller": "teller1",
        "issued_at": "2026-11-30T02:00:00+00:00",
        "enqueued_at": "2026-11-30T02:00:00+00:00",
        "called_at": "2026-11-30T02:10:00+00:00",
        "counter_name": {"zh": "1号窗口", "en": "Counter 1"},
        "announcement": {
            "text": {"zh": "请A017号到1号窗口办理", "en": "Number A017, please go to counter 1"},
            "speech": {"zh": "请 A 零 一 七 号到一号窗口办理", "en": "Number A, zero one seven"},
            "audio": ["/audio/chime-0123456789abcdef.wav"] + ["/audio/" + "f" * 32 + ".wav"] * 2,
            "repeat": 1,
        },
        "bench_id": "__ID__",
    }
    text = json.dumps({"type": "ticket.called", "seq": 1, "at": "x", "data": data})
    return text.replace('"__ID__"', "__ID__")


# --- LobbyQ's own share: the streams in-process, no sockets -----------------------------


def bench_streams(size: int, calls: int) -> Result:
    """Publish -> each BranchStream's send, with a no-op send: what the hub and the
    per-client streams cost before uvicorn and the kernel."""
    from datetime import UTC, datetime

    from server.app import create_app
    from server.events import Event
    from server.realtime.stream import BranchStream

    async def main(store: Any) -> Result:
        await store.hub.start()
        times: list[float] = []
        done = asyncio.Event()

        async def send(text: str) -> None:
            write(b"")

        def write(frame: bytes) -> bool:
            times.append(time.perf_counter())
            if len(times) >= size:
                done.set()
            return True

        branch = store.branch("b1")
        streams = [BranchStream(store, branch, send, write) for _ in range(size)]
        tasks = [asyncio.create_task(s.run(0)) for s in streams]
        while store.hub.subscriber_count("b1") < size or any(s.last < 0 for s in streams):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        latencies: list[float] = []
        for seq in range(1, calls + 1):
            times.clear()
            done.clear()
            event = Event("b1", "ticket.called", seq, datetime.now(UTC), {"number": "A001"})
            t0 = time.perf_counter()
            store.hub.publish(event)
            await asyncio.wait_for(done.wait(), 30)
            latencies += [(t - t0) * 1000 for t in times]
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return Result("LobbyQ streams, no sockets", size, latencies, 0, float("nan"), 0.0)

    with tempfile.TemporaryDirectory(prefix="lobbyq-bench-") as tmp:
        store = create_app(lobbyq_config(Path(tmp))).state.store
        try:
            import uvloop

            return uvloop.run(main(store))
        except ImportError:
            return asyncio.run(main(store))


# --- main ------------------------------------------------------------------------------


async def run(sizes: list[int], calls: int, ws_impls: list[str], hall: bool) -> list[Result]:
    results = []
    for size in sizes:
        n_calls = calls if size <= 200 else max(5, calls // 3)
        results.append(await bench_floor(size, n_calls, floor_payload()))
        for ws in ws_impls:
            results += await bench_lobbyq(size, n_calls, ws)
        if hall and size <= 200:
            # The same number of devices, a third each TVs, signs and pads of counter 1.
            results += await bench_lobbyq(size, n_calls, "lobbyq", DEVICE_KINDS)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve-lobbyq":
        serve_lobbyq(sys.stdin.read(), int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "serve-floor":
        serve_floor(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,5000")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument(
        "--ws",
        default="lobbyq",
        help="comma-separated: lobbyq (as `lobbyq serve`), or a uvicorn ws implementation "
        "(auto, websockets, websockets-sansio, wsproto); +deflate: permessage-deflate on",
    )
    parser.add_argument(
        "--hall",
        action="store_true",
        help="also run each size <= 200 as TVs, counter signs and rating pads, a third each",
    )
    args = parser.parse_args()
    limit = raise_fd_limit()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"fd limit {limit}; cpus {os.cpu_count()}; python {sys.version.split()[0]}")
    try:
        import uvloop

        results = uvloop.run(run(sizes, args.calls, args.ws.split(","), args.hall))
    except ImportError:
        results = asyncio.run(run(sizes, args.calls, args.ws.split(","), args.hall))
    for size in sizes:
        results.append(bench_streams(size, 10))
    print()
    print(
        "| server                       | client | p50 ms   | p99 ms   | max ms   | missing | "
        "KiB/conn  | conn s  | POST ms  |"
    )
    print("|" + "|".join("-" * w for w in (30, 8, 10, 10, 10, 9, 11, 9, 10)) + "|")
    for result in results:
        print(result.row())
    print()
    print("LobbyQ server side, ms median / max: POST sent -> hub delivery starts; the delivery")
    print("| server                       | client | to hub          | fan-out         |")
    print("|" + "|".join("-" * w for w in (30, 8, 17, 17)) + "|")
    for result in results:
        if result.fanout_ms:
            print(result.server_row())
    print()
    print("targets: p99 <= 50 ms at 40 clients, <= 200 ms at 5,000; <= 64 KiB per idle connection")


if __name__ == "__main__":
    main()
