"""Bookkeeping shared by the drivers: the last job's outcome and a briefly cached state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from printers.status import PrinterError, PrinterState

__all__ = ["DriverBase", "utc_now"]

# A fresh answer is reused for this long, so that the spooler's status read right after a job
# does not open a second connection to ask what the job just learned.
_STATE_FRESH_S = 1.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class DriverBase:
    """What every driver does around its own I/O: one job or query at a time, the last
    job's outcome, and a briefly cached state. A driver supplies `_print` (send one job,
    return the state after it) and `_probe` (ask the state); both raise PrinterError."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()  # one job or query at a time: printers take one stream
        self._last_job: tuple[datetime, bool] | None = None
        self._seen: tuple[float, PrinterState] | None = None

    def send(self, job: bytes) -> None:
        with self._lock:
            try:
                state = self._print(job)
            except PrinterError as exc:
                self._reset()
                self._job_done(exc.state, ok=False)
                raise
            self._job_done(state, ok=True)

    def status(self) -> PrinterState:
        with self._lock:
            fresh = self._fresh_state()
            if fresh is not None:
                return fresh
            try:
                state = self._probe()
            except PrinterError as exc:
                self._reset()
                state = exc.state
            return self._seen_now(state)

    def _print(self, job: bytes) -> PrinterState:
        raise NotImplementedError

    def _probe(self) -> PrinterState:
        raise NotImplementedError

    def _reset(self) -> None:
        """After an error: forget whatever connection is held (nothing by default)."""

    def _job_done(self, state: PrinterState, ok: bool) -> PrinterState:
        self._last_job = (self._clock(), ok)
        if ok:
            return self._seen_now(state)
        # A failure says little about the printer a moment later: the next status() asks.
        self._seen = None
        return state.with_job(*self._last_job)

    def _seen_now(self, state: PrinterState) -> PrinterState:
        if self._last_job is not None:
            state = state.with_job(*self._last_job)
        self._seen = (time.monotonic(), state)
        return state

    def _fresh_state(self) -> PrinterState | None:
        if self._seen is not None and time.monotonic() - self._seen[0] < _STATE_FRESH_S:
            return self._seen[1]
        return None
