"""Kiosk bench: a tap (POST /tickets as the kiosk) -> the last byte of its ticket at a TCP
printer on loopback, p50/p99, for each Chinese mode of the printer.

    .venv/bin/python bench/bench_kiosk.py [--taps 200]

The whole server runs as in production (uvicorn, SQLite file in WAL, the spooler, the
network driver with its status round trips). Floors measured in the same run:
- socket: connect and send the same job bytes to the same fake printer (no server at all);
- issue: POST /tickets with print=false (HTTP + the issue transaction, no printing).
Target: p99 tap -> last byte <= 150 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printers import ChineseMode, RenderOptions, render_ticket, sample_ticket  # noqa: E402
from tests.support import KIOSK_TOKEN, live_server, make_config  # noqa: E402

CUT = b"\x1dV"  # the cut: the last command of every LobbyQ ticket
TARGET_P99_MS = 150.0


class TimingPrinter:
    """A loopback printer that answers status queries and notes when each cut arrives."""

    def __init__(self) -> None:
        self.cuts: list[float] = []
        self.changed = threading.Condition()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = bytearray()
        scanned = 0
        cut_seen = False
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                now = time.perf_counter()
                data += chunk
                while (at := data.find(b"\x10\x04", scanned)) != -1 and at + 2 < len(data):
                    conn.sendall(b"\x12")
                    scanned = at + 3
                if not cut_seen and data.find(CUT) != -1:
                    cut_seen = True
                    with self.changed:
                        self.cuts.append(now)
                        self.changed.notify_all()

    def wait_cut(self, count: int, timeout_s: float = 10) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.cuts) >= count, timeout_s):
                raise RuntimeError("the printer never got the job")
            return self.cuts[count - 1]

    def stop(self) -> None:
        self.stopping = True
        self.server.close()


def stats(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


def wait_done(kiosk: httpx.Client, printed: dict[str, str]) -> None:
    url = f"/branches/b1/printers/{printed['printer']}/jobs/{printed['job']}"
    deadline = time.monotonic() + 10
    while not kiosk.get(url).json()["done"]:
        if time.monotonic() > deadline:
            raise RuntimeError("job never finished")
        time.sleep(0.002)


def socket_floor(printer: TimingPrinter, job: bytes, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        before = len(printer.cuts)
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", printer.port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(job)
            samples.append(printer.wait_cut(before + 1) - started)
    return samples


def bench_mode(mode: str, taps: int, workdir: Path) -> dict[str, list[float]]:
    printer = TimingPrinter()
    folder = workdir / mode
    config = make_config(
        f"sqlite:///{folder / 'lobbyq.db'}",
        folder / "data",
        printers=[
            {
                "id": "p1",
                "driver": "network",
                "host": "127.0.0.1",
                "port": printer.port,
                "chinese_mode": mode,
            }
        ],
        kiosks=[{"id": "k1", "token": KIOSK_TOKEN, "printer": "p1"}],
    )
    folder.mkdir(parents=True)
    job = render_ticket(sample_ticket(), RenderOptions(chinese_mode=ChineseMode(mode)))
    results: dict[str, list[float]] = {
        "socket": [],
        "issue": [],
        "tap": [],
        "render": [],
        "burst": [],
        "after": [],
    }
    try:
        with (
            live_server(config) as server,
            httpx.Client(
                base_url=server.api, headers={"Authorization": f"Bearer {KIOSK_TOKEN}"}
            ) as kiosk,
        ):
            for i in range(10):  # warm-up: connections, caches, first estimates
                warm = kiosk.post("/branches/b1/tickets", json={"service": "A"})
                printer.wait_cut(i + 1)
                wait_done(kiosk, warm.json()["print"])
            for i in range(taps):
                service = "ABC"[i % 3]
                started = time.perf_counter()
                kiosk.post("/branches/b1/tickets", json={"service": service, "print": False})
                results["issue"].append(time.perf_counter() - started)

                before = len(printer.cuts)
                started = time.perf_counter()
                response = kiosk.post("/branches/b1/tickets", json={"service": service})
                answered = time.perf_counter()
                response.raise_for_status()
                cut = printer.wait_cut(before + 1)
                results["tap"].append(cut - started)
                results["after"].append(max(0.0, cut - answered))
                # A kiosk's customers are seconds apart: let the job finish (its closing status
                # query) before the next tap, so each tap finds its printer idle.
                wait_done(kiosk, response.json()["print"])

                started = time.perf_counter()
                render_ticket(sample_ticket(), RenderOptions(chinese_mode=ChineseMode(mode)))
                results["render"].append(time.perf_counter() - started)
            # Back to back: each tap while the previous job is still finishing.
            for i in range(taps // 2):
                before = len(printer.cuts)
                started = time.perf_counter()
                kiosk.post("/branches/b1/tickets", json={"service": "ABC"[i % 3]})
                results["burst"].append(printer.wait_cut(before + 1) - started)
            results["socket"] = socket_floor(printer, job, taps)
    finally:
        printer.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, default=200)
    parser.add_argument("--modes", default="gb18030,raster")
    args = parser.parse_args()
    print(
        f"# bench_kiosk: {args.taps} taps per mode; {platform.python_version()}, "
        f"{platform.machine()}, SQLite"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            results = bench_mode(mode, args.taps, Path(tmp))
            labels = {
                "socket": "floor: bare socket send of the job",
                "issue": "floor: POST /tickets print=false",
                "render": "render the ESC/POS job",
                "tap": "tap -> last byte at printer",
                "burst": "tap -> last byte, back-to-back taps",
                "after": "201 received -> last byte (0 if before)",
            }
            for key in ("socket", "issue", "render", "tap", "after", "burst"):
                p50, p99, worst = stats(results[key])
                rows.append((mode, labels[key], p50, p99, worst))
    print()
    print(f"| {'mode':8} | {'measure':40} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} |")
    print(f"|{'-' * 10}|{'-' * 42}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for mode, label, p50, p99, worst in rows:
        print(f"| {mode:8} | {label:40} | {p50:7.1f} | {p99:7.1f} | {worst:7.1f} |")
    print()
    for mode, label, _p50, p99, _worst in rows:
        if label == "tap -> last byte at printer":
            verdict = "met" if p99 <= TARGET_P99_MS else "NOT met"
            print(
                f"{mode}: p99 tap -> last byte {p99:.1f} ms; "
                f"target <= {TARGET_P99_MS:g} ms {verdict}"
            )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
