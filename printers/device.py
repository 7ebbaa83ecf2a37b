"""The `usb` and `serial` drivers: python-escpos's `Usb` and `Serial` devices behind our Protocol.

They need python-escpos's extras (pyusb, pyserial); without them opening the printer fails with
a `PrinterError` that says so, like any other unreachable printer. The device is kept open
between jobs (claiming a USB interface is slow) and reopened after any error, which is how a
replugged cable or a power-cycled printer comes back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from printers.driver_base import DriverBase, utc_now
from printers.status import DLE_EOT, PrinterError, PrinterState, check_printable, query_state

__all__ = ["EscposDevicePrinter", "serial_printer", "usb_printer"]

_MAX_ANSWER_WAIT_S = 1.0
_DRAIN_READS = 8

# Reads what the printer has sent within `timeout_s` (b"" if nothing); never raises.
ReadAnswer = Callable[[Any, float], bytes]


class EscposDevicePrinter(DriverBase):
    def __init__(
        self,
        name: str,
        open_device: Callable[[], Any],
        read_answer: ReadAnswer,
        *,
        timeout_s: float = 3.0,
        status_check: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(clock=clock)
        self.name = name
        self._open_device = open_device
        self._read_answer = read_answer
        self.timeout_s = timeout_s
        self.answer_timeout_s = min(timeout_s, _MAX_ANSWER_WAIT_S)
        self.status_check = status_check
        self._device: Any = None

    def __repr__(self) -> str:
        return f"EscposDevicePrinter({self.name})"

    def _probe(self) -> PrinterState:
        device = self._device_open()
        return self._query(device) if self.status_check else PrinterState(online=True)

    def _reset(self) -> None:
        self._drop_device()  # reopened on the next job: a replugged cable comes back

    def close(self) -> None:
        with self._lock:
            self._drop_device()

    def _print(self, job: bytes) -> PrinterState:
        device = self._device_open()
        if self.status_check:
            check_printable(self._query(device))
        self._write(device, job)
        if not self.status_check:
            return PrinterState(online=True)
        for _ in range(_DRAIN_READS):  # drop unsolicited bytes, see network._drain
            if not self._read_answer(device, 0.02):
                break
        state = self._query(device, self.timeout_s)  # may queue behind the job, see network
        if state.online is None:
            raise PrinterError("no answer after the job: it may not have printed")
        check_printable(state)
        return state

    def _device_open(self) -> Any:
        if self._device is None:
            try:
                self._device = self._open_device()
            except Exception as exc:  # python-escpos raises several unrelated types here
                raise PrinterError(f"cannot open {self.name}: {exc}") from exc
        return self._device

    def _drop_device(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            # Closing a device that is already gone must not mask the error that got us here.
            with contextlib.suppress(Exception):
                device.close()

    def _write(self, device: Any, data: bytes) -> None:
        try:
            device._raw(data)
        except Exception as exc:  # usb.core.USBError, serial.SerialException, OSError
            raise PrinterError(f"write to {self.name} failed: {exc}") from exc

    def _query(self, device: Any, wait_s: float | None = None) -> PrinterState:
        def exchange(n: int) -> int | None:
            self._write(device, DLE_EOT + bytes((n,)))
            answer = self._read_answer(device, wait_s or self.answer_timeout_s)
            return answer[-1] if answer else None

        return query_state(exchange)


def usb_printer(
    vendor_id: int,
    product_id: int,
    *,
    profile: str = "TM-T88V",
    timeout_s: float = 3.0,
    status_check: bool = True,
    clock: Callable[[], datetime] = utc_now,
) -> EscposDevicePrinter:
    from escpos.printer import Usb

    def open_device() -> Any:
        if not Usb.is_usable():
            # Checked first: python-escpos objects built without pyusb raise even when deleted.
            raise PrinterError("pyusb is not installed (pip install 'python-escpos[usb]')")
        # pyusb timeouts are milliseconds.
        device = Usb(vendor_id, product_id, timeout=int(timeout_s * 1000), profile=profile)
        device.open()
        return device

    def read_answer(device: Any, wait_s: float) -> bytes:
        try:
            return bytes(device.device.read(device.in_ep, 16, max(1, int(wait_s * 1000))))
        except Exception:  # usb.core.USBTimeoutError: nothing to read
            return b""

    return EscposDevicePrinter(
        f"USB printer {vendor_id:04x}:{product_id:04x}",
        open_device,
        read_answer,
        timeout_s=timeout_s,
        status_check=status_check,
        clock=clock,
    )


def serial_printer(
    port: str,
    baudrate: int = 9600,
    *,
    profile: str = "TM-T88V",
    timeout_s: float = 3.0,
    status_check: bool = True,
    clock: Callable[[], datetime] = utc_now,
) -> EscposDevicePrinter:
    from escpos.printer import Serial

    def open_device() -> Any:
        if not Serial.is_usable():
            raise PrinterError("pyserial is not installed (pip install 'python-escpos[serial]')")
        device = Serial(port, baudrate=baudrate, timeout=timeout_s, profile=profile)
        device.open()
        # With hardware flow control a stopped printer would block writes forever.
        device.device.write_timeout = timeout_s
        return device

    def read_answer(device: Any, wait_s: float) -> bytes:
        try:
            device.device.timeout = wait_s
            return bytes(device.device.read(1))  # returns as soon as the one byte arrives
        except Exception:
            return b""

    return EscposDevicePrinter(
        f"serial printer {port}",
        open_device,
        read_answer,
        timeout_s=timeout_s,
        status_check=status_check,
        clock=clock,
    )
