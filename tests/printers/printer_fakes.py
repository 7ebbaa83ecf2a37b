"""Printers for tests: a real TCP server playing a network printer, and a fake USB printer.

FakeNetworkPrinter listens on 127.0.0.1 and behaves like an Epson-compatible printer on port
9100: it reads the job and answers real-time status queries (DLE EOT n) found anywhere in the
stream, as real printers do. Its `mode` makes it misbehave the ways printers do in a branch.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from printers.status import PaperLevel, PrinterError, PrinterState
from printers.ticket import TicketPrint, sample_ticket

STATUS_OK = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
STATUS_PAPER_LOW = {**STATUS_OK, 4: 0x12 | 0x0C}
STATUS_PAPER_OUT = {1: 0x12 | 0x08, 2: 0x12 | 0x20, 3: 0x12, 4: 0x12 | 0x60}
STATUS_COVER_OPEN = {1: 0x12 | 0x08, 2: 0x12 | 0x04, 3: 0x12, 4: 0x12}


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll until `predicate` holds; a bound against hangs, not a timing assertion."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeNetworkPrinter:
    """mode: 'ok'; 'hang': accepts, never reads nor answers; 'mute': reads, never answers;
    'drop': switched off after reading part of a job."""

    def __init__(
        self,
        mode: str = "ok",
        *,
        port: int = 0,
        status: dict[int, int] | None = None,
        drop_after: int = 40,
    ) -> None:
        self.mode = mode
        self.status = dict(status or STATUS_OK)
        self.drop_after = drop_after
        self.streams: list[bytes] = []  # everything received, one entry per closed connection
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._conns: list[socket.socket] = []
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(8)
        self._server.settimeout(0.05)
        self.port: int = self._server.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self._threads[0].start()

    # -- what the tests read -------------------------------------------------------------

    def jobs(self) -> list[bytes]:
        """Streams that carried more than status queries."""
        with self._changed:
            return [
                s for s in self.streams if s.replace(b"\x10\x04", b"").strip(b"\x01\x02\x03\x04")
            ]

    def wait_for_jobs(self, n: int, timeout_s: float = 10.0) -> list[bytes]:
        wait_until(lambda: len(self.jobs()) >= n, timeout_s)
        return self.jobs()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(2)
        self._server.close()
        for conn in self._conns:
            conn.close()

    def __enter__(self) -> FakeNetworkPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the printer -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            if self.mode == "hang":
                continue  # keep it open, never read: the client's buffers fill, nobody answers
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        received = bytearray()
        conn.settimeout(0.05)
        scanned = answered = 0
        try:
            while not self._stopping.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                received += chunk
                # Real-time commands are answered as they arrive, even inside other data.
                while (at := received.find(b"\x10\x04", scanned)) != -1 and at + 2 < len(received):
                    if self._dropped(at - 3 * answered):
                        return
                    if self.mode != "mute":
                        conn.sendall(bytes((self.status.get(received[at + 2], 0x12),)))
                    answered += 1
                    scanned = at + 3
                if self._dropped(len(received) - 3 * answered):
                    return
        except OSError:
            pass
        finally:
            conn.close()
            with self._changed:
                self.streams.append(bytes(received))
                self._changed.notify_all()

    def _dropped(self, job_bytes: int) -> bool:
        """In 'drop' mode: the printer is switched off once it has read part of a job."""
        return self.mode == "drop" and job_bytes > self.drop_after


class PtyPrinter:
    """A serial printer at the far end of a real pseudo-terminal pair (os.openpty).

    The driver opens `port` (the /dev/pts/N slave) with pyserial, the same code path as
    /dev/ttyS0 or COM1: termios setup, non-blocking writes bounded by write_timeout, reads
    with a timeout. This thread plays the printer on the master side: it reads everything and
    answers DLE EOT n as it arrives. `stop_reading()` is a jammed or stalled printer: the
    kernel's buffer (some 14 KB) fills and writes block, as with hardware flow control.
    """

    def __init__(self, status: dict[int, int] | None = None) -> None:
        self.status = dict(status or STATUS_OK)
        self.master, self._slave = os.openpty()  # the slave stays open: no hang-up between jobs
        self.port = os.ttyname(self._slave)
        self._reading = threading.Event()
        self._reading.set()
        self._stopping = threading.Event()
        self._received = bytearray()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stream(self) -> bytes:
        with self._changed:
            return bytes(self._received)

    def wait_for(self, predicate: Callable[[bytes], bool], timeout_s: float = 10.0) -> bytes:
        wait_until(lambda: predicate(self.stream()), timeout_s)
        return self.stream()

    def stop_reading(self) -> None:
        with self._changed:  # once this returns, not one more byte is read
            self._reading.clear()

    def resume(self) -> None:
        self._reading.set()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self._slave)

    def _run(self) -> None:
        scanned = 0
        while not self._stopping.is_set():
            if not self._reading.wait(0.05):
                continue
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            with self._changed:
                if not self._reading.is_set():
                    continue
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                self._received += chunk
                # Real-time commands are answered as they arrive, even inside other data.
                while (at := self._received.find(b"\x10\x04", scanned)) != -1 and at + 2 < len(
                    self._received
                ):
                    os.write(self.master, bytes((self.status.get(self._received[at + 2], 0x12),)))
                    scanned = at + 3
                self._changed.notify_all()


class FakeUsbPrinter:
    """A USB printer behind the `TicketPrinter` Protocol, scripted by the test."""

    def __init__(self) -> None:
        self.jobs: list[bytes] = []
        self.state = PrinterState(online=True, paper=PaperLevel.OK)
        self.failures: list[str] = []  # errors raised by the next sends, in order
        self.always_fail: str | None = None
        self.release = threading.Event()  # cleared: send() blocks, like a stalled USB write
        self.release.set()
        self.entered = threading.Event()  # set once a send() has started
        self.closed = False
        self.status_calls = 0

    def send(self, job: bytes) -> None:
        self.entered.set()
        self.release.wait(10)
        error = self.always_fail or (self.failures.pop(0) if self.failures else None)
        if error:
            raise PrinterError(error, PrinterState(online=False, error=error))
        self.jobs.append(job)

    def status(self) -> PrinterState:
        self.status_calls += 1
        return self.state

    def close(self) -> None:
        self.closed = True


def make_ticket(**changes: Any) -> TicketPrint:
    """The sample ticket with some fields changed."""
    return replace(sample_ticket(), **changes)


def aware(hour: int = 9, minute: int = 15) -> datetime:
    return datetime(2025, 3, 4, hour, minute, tzinfo=timezone(timedelta(hours=8)))


# Names as a branch would type them: Chinese, Latin, digits, punctuation and spaces.
names = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.sampled_from("ABCabcxyz0129 -/()&.,"),
    ),
    min_size=1,
    max_size=30,
)
tickets = st.builds(
    TicketPrint,
    branch_name_zh=names,
    branch_name_en=names,
    number=st.from_regex(r"[A-Z]{1,2}[0-9]{3}", fullmatch=True),
    service_name_zh=names,
    service_name_en=names,
    people_ahead=st.integers(0, 999),
    estimated_wait_s=st.one_of(st.none(), st.integers(0, 6 * 3600)),
    issued_at=st.just(aware()),
    track_url=st.from_regex(r"https://lobbyq\.example/t/[a-z0-9]{10,40}", fullmatch=True),
    priority_name_zh=st.one_of(st.none(), names),
    priority_name_en=st.one_of(st.none(), names),
    footer_zh=st.one_of(st.just(""), names),
    footer_en=st.one_of(st.just(""), names),
)


def _without_queries(stream: bytes) -> bytes:
    return stream.replace(b"\x10\x04", b"").strip(b"\x01\x02\x03\x04")
