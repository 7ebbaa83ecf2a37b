"""Bounded soak on loopback: 20 kiosks, 30 counters and 200 lobby displays
(WebSockets) against real `lobbyq serve` processes, at several times a busy
branch's rate, for a fixed time. Reports throughput, p50/p99 latencies (issue,
call-next, call -> display), errors (target: zero) and server memory at start and
end, as a table.

    .venv/bin/python bench/soak.py                      # 10 minutes on SQLite
    .venv/bin/python bench/soak.py --minutes 1          # a quick run
    .venv/bin/python bench/soak.py --postgres --minutes 2
    .venv/bin/python bench/soak.py --postgres --processes 2 --minutes 2   # + Redis hub

A busy branch: 30 counters each serving a customer in ~5 minutes is 360 tickets an
hour; `--times 10` (the default) issues ten times that (one ticket a second) and the
counters serve at the same pace. Postgres: $LOBBYQ_TEST_POSTGRES or the dev server on
127.0.0.1:54329 (a fresh database, dropped afterwards). Redis: $LOBBYQ_TEST_REDIS or
127.0.0.1:63799, with a channel prefix of this run's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scale.procs import (  # noqa: E402
    ServerProcess,
    drop_pg_database,
    fresh_pg_database,
    to_toml,
)

KIOSKS = 20
COUNTERS = 30
DISPLAYS = 200
BUSY_BRANCH_PER_HOUR = 360
PASSWORD = "soak-password-1"
DISPLAY_TOKEN = "soak-display-token"
PG_ADMIN = os.environ.get("LOBBYQ_TEST_POSTGRES") or (
    "postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
)
REDIS = os.environ.get("LOBBYQ_TEST_REDIS") or "redis://127.0.0.1:63799/0"


def soak_config(database_url: str, data_dir: Path, redis_url: str) -> dict[str, Any]:
    return {
        "server": {
            "database_url": database_url,
            "redis_url": redis_url,
            "data_dir": str(data_dir),
            "login_attempts_per_minute": 1000,
        },
        "users": [
            {"username": f"t{n}", "password": PASSWORD, "role": "teller"}
            for n in range(1, COUNTERS + 1)
        ],
        "branches": [
            {
                "code": "b1",
                "name": {"zh": "压力测试支行", "en": "Soak Branch"},
                "services": [
                    {"code": "A", "prefix": "A", "name": {"zh": "现金", "en": "Cash"}},
                    {"code": "B", "prefix": "B", "name": {"zh": "非现金", "en": "Non-cash"}},
                    {"code": "C", "prefix": "C", "name": {"zh": "对公", "en": "Corporate"}},
                ],
                "priorities": [{"code": "vip", "weight": 4, "prefix": "V"}],
                "counters": [
                    {"number": str(n), "services": ["C"] if n > 26 else ["A", "B"]}
                    for n in range(1, COUNTERS + 1)
                ],
                "kiosks": [{"id": f"k{n}", "token": f"soak-kiosk-{n:02d}"} for n in range(KIOSKS)],
                "displays": [{"id": "tv", "token": DISPLAY_TOKEN}],
            }
        ],
    }


@dataclass
class Stats:
    issue_ms: list[float] = field(default_factory=list)
    call_ms: list[float] = field(default_factory=list)
    complete_ms: list[float] = field(default_factory=list)
    display_ms: list[float] = field(default_factory=list)
    called_at: dict[str, float] = field(default_factory=dict)  # number -> call request start
    errors: dict[str, int] = field(default_factory=dict)
    issued: int = 0
    called: int = 0
    empty_calls: int = 0
    display_events: int = 0
    display_gaps: int = 0
    display_snapshots: int = 0
    display_disconnects: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def kiosk(
    http: httpx.AsyncClient, api: str, token: str, rate: float, until: float, stats: Stats
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        await asyncio.sleep(random.expovariate(rate))
        if time.monotonic() >= until:
            return
        service = random.choices("ABC", weights=(5, 4, 1))[0]
        body = {"service": service, "print": False}
        start = time.monotonic()
        try:
            response = await http.post(f"{api}/branches/b1/tickets", json=body, headers=headers)
        except httpx.HTTPError as exc:
            stats.error(f"issue {type(exc).__name__}")
            continue
        stats.issue_ms.append((time.monotonic() - start) * 1000)
        if response.status_code == 201:
            stats.issued += 1
        else:
            stats.error(f"issue {response.status_code}")


async def counter(
    http: httpx.AsyncClient,
    api: str,
    number: str,
    token: str,
    service_s: float,
    until: float,
    stats: Stats,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{api}/branches/b1/counters/{number}"
    response = await http.post(f"{base}/open", headers=headers)
    if response.status_code != 200:
        stats.error(f"open {response.status_code}")
        return
    while time.monotonic() < until:
        start = time.monotonic()
        try:
            response = await http.post(f"{base}/call-next", headers=headers)
        except httpx.HTTPError as exc:
            stats.error(f"call {type(exc).__name__}")
            await asyncio.sleep(1)
            continue
        stats.call_ms.append((time.monotonic() - start) * 1000)
        if response.status_code == 204:
            stats.empty_calls += 1
            await asyncio.sleep(random.uniform(0.5, 1.5))
            continue
        if response.status_code != 200:
            stats.error(f"call {response.status_code}")
            await asyncio.sleep(1)
            continue
        stats.called += 1
        stats.called_at[response.json()["ticket"]["number"]] = start
        serving = random.uniform(0.5, 1.5) * service_s
        await asyncio.sleep(max(0.0, min(serving, until - time.monotonic())))
        start = time.monotonic()
        try:
            done = await http.post(f"{base}/complete", headers=headers)
        except httpx.HTTPError as exc:
            stats.error(f"complete {type(exc).__name__}")
            continue
        stats.complete_ms.append((time.monotonic() - start) * 1000)
        if done.status_code != 200:
            stats.error(f"complete {done.status_code}")


async def display(
    ws_base: str, until: float, stats: Stats, pending: dict[str, list[float]]
) -> None:
    """A TV: reconnects with since= like the real page; records call -> display."""
    last = -1
    while time.monotonic() < until:
        url = f"{ws_base}/ws/branches/b1?token={DISPLAY_TOKEN}"
        if last >= 0:
            url += f"&since={last}"
        try:
            async with websockets.connect(url, open_timeout=30, max_queue=None) as ws:
                while time.monotonic() < until:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=1)
                    except TimeoutError:
                        continue
                    now = time.monotonic()
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "ping":
                        continue
                    seq = int(message["seq"])
                    if kind == "snapshot":
                        stats.display_snapshots += 1
                    else:
                        stats.display_events += 1
                        if last >= 0 and seq != last + 1:
                            stats.display_gaps += 1
                        if kind == "ticket.called":
                            pending.setdefault(message["data"]["number"], []).append(now)
                    last = seq
        except (OSError, websockets.WebSocketException, TimeoutError):
            stats.display_disconnects += 1
            await asyncio.sleep(0.5)


def rss_mb(servers: list[ServerProcess]) -> float:
    return sum(s.rss_kb() for s in servers) / 1024


async def soak(
    args: argparse.Namespace, servers: list[ServerProcess]
) -> tuple[Stats, dict[str, Any]]:
    stats = Stats()
    rate = BUSY_BRANCH_PER_HOUR * args.times / 3600  # tickets per second, all kiosks
    service_s = COUNTERS / rate * 0.9  # the counters keep up (a little faster than arrivals)
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them:
    # otherwise a request sent on a connection the server is closing at that instant
    # fails (RemoteProtocolError) without having reached the server.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        tokens = []
        for n in range(1, COUNTERS + 1):
            server = servers[n % len(servers)]
            response = await http.post(
                f"{server.api}/auth/login", json={"username": f"t{n}", "password": PASSWORD}
            )
            response.raise_for_status()
            tokens.append(response.json()["access_token"])
        pending: dict[str, list[float]] = {}
        connect_by = time.monotonic() + 5
        until = connect_by + args.minutes * 60
        displays = [
            asyncio.create_task(display(servers[i % len(servers)].ws, until + 30, stats, pending))
            for i in range(DISPLAYS)
        ]
        await asyncio.sleep(connect_by - time.monotonic())  # the TVs connect first
        rss_start = rss_mb(servers)
        started = time.monotonic()
        work = [
            asyncio.create_task(
                kiosk(
                    http,
                    servers[k % len(servers)].api,
                    f"soak-kiosk-{k:02d}",
                    rate / KIOSKS,
                    until,
                    stats,
                )
            )
            for k in range(KIOSKS)
        ] + [
            asyncio.create_task(
                counter(
                    http,
                    servers[n % len(servers)].api,
                    str(n),
                    tokens[n - 1],
                    service_s,
                    until,
                    stats,
                )
            )
            for n in range(1, COUNTERS + 1)
        ]
        await asyncio.gather(*work)
        await asyncio.sleep(2)  # the last calls reach the TVs
        rss_end = rss_mb(servers)
        for task in displays:
            task.cancel()
        await asyncio.gather(*displays, return_exceptions=True)
        elapsed = until - started
    for number, seen in pending.items():
        start = stats.called_at.get(number)
        if start is not None:
            stats.display_ms.extend((t - start) * 1000 for t in seen)
    missing = sum(max(0, DISPLAYS - len(pending.get(n, []))) for n in stats.called_at)
    return stats, {
        "elapsed": elapsed,
        "rate": rate,
        "rss_start": rss_start,
        "rss_end": rss_end,
        "missing": missing,
    }


def table(args: argparse.Namespace, stats: Stats, run: dict[str, Any]) -> str:
    database = "PostgreSQL" if args.postgres else "SQLite"
    hub = f"Redis, {args.processes} processes" if args.processes > 1 else "in-process"
    minutes = run["elapsed"] / 60
    errors = sum(stats.errors.values()) + stats.display_gaps + run["missing"]
    rows = [
        ("database / hub", f"{database} / {hub}"),
        ("duration", f"{minutes:.1f} min"),
        ("clients", f"{KIOSKS} kiosks, {COUNTERS} counters, {DISPLAYS} displays (WebSocket)"),
        ("target rate", f"{run['rate'] * 3600:.0f} tickets/h ({args.times}x a busy branch)"),
        ("tickets issued", f"{stats.issued} ({stats.issued / run['elapsed']:.2f}/s)"),
        ("tickets called", f"{stats.called} ({stats.called / run['elapsed']:.2f}/s)"),
        ("call-next answered 204", str(stats.empty_calls)),
        ("issue p50 / p99", f"{pct(stats.issue_ms, 0.5):.0f} / {pct(stats.issue_ms, 0.99):.0f} ms"),
        (
            "call-next p50 / p99",
            f"{pct(stats.call_ms, 0.5):.0f} / {pct(stats.call_ms, 0.99):.0f} ms",
        ),
        (
            "complete p50 / p99",
            f"{pct(stats.complete_ms, 0.5):.0f} / {pct(stats.complete_ms, 0.99):.0f} ms",
        ),
        (
            "call -> display p50 / p99",
            f"{pct(stats.display_ms, 0.5):.0f} / {pct(stats.display_ms, 0.99):.0f} ms "
            f"({len(stats.display_ms)} deliveries)",
        ),
        ("display messages", f"{stats.display_events} events, {stats.display_snapshots} snapshots"),
        ("display reconnects", str(stats.display_disconnects)),
        ("calls a display missed", str(run["missing"])),
        ("display seq gaps", str(stats.display_gaps)),
        ("HTTP errors", json.dumps(stats.errors) if stats.errors else "0"),
        ("errors total (target 0)", str(errors)),
        ("server RSS start -> end", f"{run['rss_start']:.0f} -> {run['rss_end']:.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'metric'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--times", type=float, default=10, help="x a busy branch's rate")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--processes", type=int, default=1, help=">1: several servers + Redis")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="lobbyq-soak-"))
    database_url = (
        fresh_pg_database(PG_ADMIN) if args.postgres else f"sqlite:///{folder / 'soak.db'}"
    )
    redis_url = ""
    if args.processes > 1:
        sep = "&" if "?" in REDIS else "?"
        redis_url = f"{REDIS}{sep}channel_prefix=lobbyq-soak-{uuid.uuid4().hex[:8]}:"
    config = folder / "soak.toml"
    config.write_text(to_toml(soak_config(database_url, folder / "data", redis_url)), "utf-8")
    servers: list[ServerProcess] = []
    try:
        for _ in range(args.processes):
            servers.append(
                ServerProcess(config, log=folder / f"server{len(servers)}.log").start(timeout=180)
            )
        stats, run = asyncio.run(soak(args, servers))
    finally:
        for server in servers:
            server.stop()
        if args.postgres:
            drop_pg_database(PG_ADMIN, database_url)
        shutil.rmtree(folder, ignore_errors=True)
    print(table(args, stats, run))
    errors = sum(stats.errors.values()) + stats.display_gaps + run["missing"]
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
