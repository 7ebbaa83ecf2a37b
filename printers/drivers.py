"""Printer drivers behind one small Protocol, opened from the config's printer table.

A driver moves bytes and reports state; it never renders and never retries (the spooler does).
Every call is bounded by the printer's `timeout_s`, so a dead printer costs time, never a hang.
"""

from __future__ import annotations

import os
import select
import stat
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from printers.device import serial_printer, usb_printer
from printers.driver_base import DriverBase, utc_now
from printers.network import NetworkPrinter
from printers.settings import DriverKind, PrinterSettings
from printers.status import PaperLevel, PrinterError, PrinterState

__all__ = [
    "DummyPrinter",
    "FilePrinter",
    "NetworkPrinter",
    "TicketPrinter",
    "open_printer",
]


@runtime_checkable
class TicketPrinter(Protocol):
    def send(self, job: bytes) -> None:
        """Deliver one whole job, or raise `PrinterError` (with the state seen) within timeout."""

    def status(self) -> PrinterState:
        """The printer's state now; never raises, bounded by the driver's timeout."""

    def close(self) -> None: ...


class DummyPrinter(DriverBase):
    """Keeps jobs in memory: the demo branch, `print-test` without hardware, and tests."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(clock=clock)
        self.jobs: list[bytes] = []

    def send(self, job: bytes) -> None:
        with self._lock:
            self.jobs.append(bytes(job))
            self._job_done(PrinterState(online=True, paper=PaperLevel.OK), ok=True)

    def status(self) -> PrinterState:
        with self._lock:
            return self._seen_now(PrinterState(online=True, paper=PaperLevel.OK))

    def close(self) -> None:
        pass


class FilePrinter(DriverBase):
    """Writes jobs to a path: a printer device node (/dev/usb/lp0) or a plain file.

    The usblp device blocks writes while the printer is off or out of paper, so writes to a
    device are non-blocking and bounded by `timeout_s`. A missing device node is an offline
    printer, never a reason to create a regular file under /dev.
    """

    def __init__(
        self, path: str, *, timeout_s: float = 3.0, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(clock=clock)
        self.path = path
        self.timeout_s = timeout_s

    def send(self, job: bytes) -> None:
        with self._lock:
            try:
                self._write(job)
            except PrinterError as exc:
                self._job_done(exc.state, ok=False)
                raise
            self._job_done(PrinterState(online=True), ok=True)

    def status(self) -> PrinterState:
        with self._lock:
            fresh = self._fresh_state()
            if fresh is not None:
                return fresh
            # A device file tells nothing about paper; whether it can be opened is all we know.
            ok = os.access(self.path, os.W_OK) or (
                not self._is_device_path() and os.access(os.path.dirname(self.path) or ".", os.W_OK)
            )
            state = PrinterState(online=ok, error=None if ok else f"cannot write {self.path}")
            return self._seen_now(state)

    def close(self) -> None:
        pass

    def _is_device_path(self) -> bool:
        return self.path.startswith("/dev/")

    def _write(self, job: bytes) -> None:
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NONBLOCK", 0)
        if not self._is_device_path():
            flags |= os.O_CREAT
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise PrinterError(f"cannot open {self.path}: {exc.strerror}") from exc
        try:
            if stat.S_ISCHR(os.fstat(fd).st_mode):
                self._write_device(fd, job)
            else:
                view = memoryview(job)
                while view:
                    view = view[os.write(fd, view) :]
        except OSError as exc:
            raise PrinterError(f"write to {self.path} failed: {exc.strerror}") from exc
        finally:
            os.close(fd)

    def _write_device(self, fd: int, job: bytes) -> None:
        deadline = time.monotonic() + self.timeout_s
        view = memoryview(job)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PrinterError(f"write to {self.path} timed out after {self.timeout_s:g} s")
            _, writable, _ = select.select([], [fd], [], remaining)
            if writable:
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    continue


def open_printer(
    settings: Mapping[str, Any] | PrinterSettings, *, clock: Callable[[], datetime] = utc_now
) -> TicketPrinter:
    """The driver for one `[[branches.printers]]` table. Opening never touches the printer."""
    s = (
        settings
        if isinstance(settings, PrinterSettings)
        else PrinterSettings.from_mapping(settings)
    )
    if s.driver is DriverKind.DUMMY:
        return DummyPrinter(clock=clock)
    if s.driver is DriverKind.FILE:
        return FilePrinter(s.device, timeout_s=s.timeout_s, clock=clock)
    if s.driver is DriverKind.NETWORK:
        assert s.host is not None  # checked by PrinterSettings
        return NetworkPrinter(
            s.host, s.port, timeout_s=s.timeout_s, status_check=s.status_check, clock=clock
        )
    if s.driver is DriverKind.USB:
        assert s.vendor_id is not None and s.product_id is not None
        return usb_printer(
            s.vendor_id,
            s.product_id,
            profile=s.escpos_profile,
            timeout_s=s.timeout_s,
            status_check=s.status_check,
            clock=clock,
        )
    assert s.serial_port is not None
    return serial_printer(
        s.serial_port,
        s.baudrate,
        profile=s.escpos_profile,
        timeout_s=s.timeout_s,
        status_check=s.status_check,
        clock=clock,
    )
