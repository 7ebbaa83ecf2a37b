"""Printing bench: render time per Chinese mode, and submit -> last byte at a loopback printer.

    .venv/bin/python bench/bench_printing.py [--renders 300] [--jobs 100]

The floor is a bare socket (connect, send the same bytes) to the same fake printer in the same
run: the spooler's extra time over it is rendering, the two status round trips and the hop to
the worker thread.
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import threading
import time
from dataclasses import replace
from datetime import timedelta

from printers.escpos_render import ChineseMode, RenderOptions, render_ticket
from printers.jobs import JobState
from printers.spooler import Spooler
from printers.ticket import TicketPrint, sample_ticket

DLE_EOT = b"\x10\x04"
CUT = b"\x1bd\x06\x1dV\x00"  # feed and cut: the last bytes of every LobbyQ ticket


def ticket_no(i: int) -> TicketPrint:
    """Tickets differ like a real morning's (number, people ahead, wait, time), so the row
    cache only helps where it helps in production: labels and names."""
    base = sample_ticket()
    return replace(
        base,
        number=f"A{i % 1000:03}",
        people_ahead=i % 23,
        estimated_wait_s=(i % 23) * 150,
        issued_at=base.issued_at + timedelta(seconds=37 * i),
    )


class LoopbackPrinter:
    """Reads jobs, answers DLE EOT, and notes when the last byte of a job (the cut) arrived."""

    def __init__(self) -> None:
        self.last_byte_at = 0.0
        self.arrived = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def expect(self) -> None:
        self.arrived.clear()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        received = bytearray()
        scanned = 0
        with conn:
            while chunk := conn.recv(65536):
                received += chunk
                while (at := received.find(DLE_EOT, scanned)) != -1 and at + 2 < len(received):
                    conn.sendall(b"\x12")
                    scanned = at + 3
                if not self.arrived.is_set() and received.endswith(CUT):
                    self.last_byte_at = time.perf_counter()
                    self.arrived.set()

    def close(self) -> None:
        self._server.close()


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in samples_s)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return statistics.median(ms), p99


def render_times(options: RenderOptions, n: int) -> list[float]:
    samples = []
    for i in range(n):
        ticket = ticket_no(i)
        start = time.perf_counter()
        render_ticket(ticket, options)
        samples.append(time.perf_counter() - start)
    return samples


def bare_send(printer: LoopbackPrinter, jobs: list[bytes]) -> list[float]:
    samples = []
    for job in jobs:
        printer.expect()
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", printer.port), timeout=5) as sock:
            sock.sendall(job)
            if not printer.arrived.wait(5):
                raise RuntimeError("bare send did not arrive")
        samples.append(printer.last_byte_at - start)
    return samples


def spooled(printer: LoopbackPrinter, mode: ChineseMode, first: int, n: int) -> list[float]:
    spooler = Spooler(probe_interval_s=None)
    settings = {"id": "p", "driver": "network", "host": "127.0.0.1", "port": printer.port}
    spooler.add_from_settings({**settings, "chinese_mode": mode.value})
    samples = []
    try:
        for i in range(first, first + n):
            printer.expect()
            start = time.perf_counter()
            job_id = spooler.submit("p", ticket_no(i))
            if not printer.arrived.wait(5):
                raise RuntimeError(f"spooled job did not arrive: {spooler.job(job_id)}")
            samples.append(printer.last_byte_at - start)
            while (job := spooler.job(job_id)) is not None and not job.done:
                time.sleep(0.0005)  # let the post-job status query finish before the next
            assert job is not None and job.state is JobState.PRINTED, job
    finally:
        spooler.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()

    printer = LoopbackPrinter()
    rows: list[tuple[str, str, float, float, float]] = []
    try:
        for mode in ChineseMode:
            options = RenderOptions(chinese_mode=mode)
            render_ticket(sample_ticket(), options)  # load the font and profile once
            # Fresh ticket numbers for each measure, so no row comes from an earlier measure.
            renders = render_times(options, args.renders)
            jobs = [render_ticket(ticket_no(10_000 + i), options) for i in range(args.jobs)]
            size = statistics.mean(len(job) for job in jobs)
            rows += [
                ("render", mode.value, size, *percentiles(renders)),
                (
                    "submit -> last byte (spooler)",
                    mode.value,
                    size,
                    *percentiles(spooled(printer, mode, 20_000, args.jobs)),
                ),
                (
                    "bare socket send (floor)",
                    mode.value,
                    size,
                    *percentiles(bare_send(printer, jobs)),
                ),
            ]
    finally:
        printer.close()

    print(
        f"python {platform.python_version()} on {platform.machine()}, renders={args.renders}, "
        f"jobs={args.jobs}, TM-T88V profile, loopback TCP"
    )
    print()
    print("| measure | chinese_mode | job bytes | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|")
    for measure, mode_name, size, p50, p99 in rows:
        print(f"| {measure} | {mode_name} | {size:.0f} | {p50:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    main()
