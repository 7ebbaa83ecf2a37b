"""The `network` driver: ESC/POS over a raw TCP socket (port 9100, "JetDirect").

A plain socket rather than python-escpos's `Network`: that class connects lazily on first use
and then keeps one socket for its lifetime, with a single timeout for everything and no way to
tell a refused connection from a hung printer. Here each job opens its own short connection
with separate connect, send and answer timeouts; the bytes themselves still come from
python-escpos (see `escpos_render`). A connection per job also survives printer reboots and
network drops without any reconnect logic, and most network printers accept one client at a
time, so holding a socket open would lock out other tools.

With `status_check` (the default) a job is bracketed by DLE EOT queries: before, so that a job
is not left in the buffer of a printer without paper; after, so that a printer that vanished or
stopped reading mid-job is noticed instead of reported as printed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import datetime

from printers.driver_base import DriverBase, utc_now
from printers.status import DLE_EOT, PrinterError, PrinterState, check_printable, query_state

__all__ = ["NetworkPrinter"]

# Printers answer DLE EOT within milliseconds; waiting long only delays reporting a dead one.
_MAX_ANSWER_WAIT_S = 1.0


class NetworkPrinter(DriverBase):
    def __init__(
        self,
        host: str,
        port: int = 9100,
        *,
        timeout_s: float = 3.0,
        status_check: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(clock=clock)
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.answer_timeout_s = min(timeout_s, _MAX_ANSWER_WAIT_S)
        self.status_check = status_check

    def __repr__(self) -> str:
        return f"NetworkPrinter({self.host}:{self.port})"

    def _probe(self) -> PrinterState:
        with self._connect() as sock:
            # Without status queries, accepting the connection is all "online" can mean.
            return self._query(sock) if self.status_check else PrinterState(online=True)

    def close(self) -> None:
        pass  # nothing held between jobs

    def _print(self, job: bytes) -> PrinterState:
        with self._connect() as sock:
            if self.status_check:
                check_printable(self._query(sock))
            try:
                sock.sendall(job)
            except TimeoutError:
                raise PrinterError(
                    f"send timed out after {self.timeout_s:g} s: printer not reading"
                ) from None
            except OSError as exc:
                raise PrinterError(f"connection lost mid-job: {_reason(exc)}") from exc
            if not self.status_check:
                # Unread bytes at close() make the kernel reset the connection and drop what
                # is not yet delivered: read what the printer sent on its own first.
                self._drain(sock, eof_ok=True)
                return PrinterState(online=True)
            self._drain(sock)
            # The answer may queue behind the job while the printer's buffer is full (a raster
            # ticket is bigger than many buffers), so wait the full timeout here.
            state = self._query(sock, self.timeout_s)
            if state.online is None:
                raise PrinterError("no answer after the job: it may not have printed")
            check_printable(state)
            return state

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except TimeoutError:
            raise PrinterError(f"connect timed out after {self.timeout_s:g} s") from None
        except socket.gaierror as exc:
            raise PrinterError(f"unknown host {self.host!r}: {exc.strerror}") from exc
        except OSError as exc:
            raise PrinterError(
                f"cannot connect to {self.host}:{self.port}: {_reason(exc)}"
            ) from exc
        # sendall() with a timeout bounds the whole job, not each chunk (Python >= 3.5).
        sock.settimeout(self.timeout_s)
        # The status query after a job is a few bytes: without NODELAY, Nagle holds it
        # behind the job's last ACK and back-to-back tickets wait (bench_kiosk).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _query(self, sock: socket.socket, wait_s: float | None = None) -> PrinterState:
        def exchange(n: int) -> int | None:
            try:
                sock.settimeout(wait_s or self.answer_timeout_s)
                sock.sendall(DLE_EOT + bytes((n,)))
                answer = sock.recv(1)
            except TimeoutError:
                return None
            except OSError as exc:
                raise PrinterError(f"connection lost: {_reason(exc)}") from exc
            finally:
                sock.settimeout(self.timeout_s)
            if not answer:
                raise PrinterError("connection closed by the printer")
            return answer[0]

        return query_state(exchange)

    def _drain(self, sock: socket.socket, *, eof_ok: bool = False) -> None:
        # Discard bytes the printer sent on its own (automatic status back, or answers to a
        # DLE EOT that happened to occur inside image data) so they are not read as answers.
        sock.setblocking(False)
        try:
            while True:
                chunk = sock.recv(256)
                if not chunk:
                    if eof_ok:
                        return
                    raise PrinterError("connection closed by the printer")
        except BlockingIOError:
            pass
        except OSError as exc:
            raise PrinterError(f"connection lost: {_reason(exc)}") from exc
        finally:
            sock.settimeout(self.timeout_s)


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__
