"""Printer state and the ESC/POS real-time status query (DLE EOT n).

Every Epson-compatible printer answers `DLE EOT n` with one byte, even while busy or offline,
which makes it the one status query that works over TCP, USB and serial alike. Bits follow the
Epson ESC/POS reference; a valid answer always has bits 1 and 4 set and bits 0 and 7 clear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

__all__ = [
    "PaperLevel",
    "PrinterError",
    "PrinterState",
    "UNKNOWN_STATE",
    "check_printable",
    "query_state",
]

DLE_EOT = b"\x10\x04"
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12

# n = 1, printer status
_OFFLINE = 0x08
# n = 2, offline cause
_COVER_OPEN, _FEED_BUTTON, _STOPPED_PAPER_END, _ERROR = 0x04, 0x08, 0x20, 0x40
# n = 3, error cause
_CUTTER_ERROR, _UNRECOVERABLE, _AUTO_RECOVERABLE = 0x08, 0x20, 0x40
# n = 4, paper roll sensor
_NEAR_END, _PAPER_END = 0x0C, 0x60


class PaperLevel(StrEnum):
    OK = "ok"
    LOW = "low"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PrinterState:
    online: bool | None = None  # None: the printer did not say (no answer, or write-only)
    paper: PaperLevel = PaperLevel.UNKNOWN
    error: str | None = None
    last_job_at: datetime | None = None
    last_job_ok: bool | None = None

    def with_job(self, at: datetime, ok: bool) -> PrinterState:
        return replace(self, last_job_at=at, last_job_ok=ok)


UNKNOWN_STATE = PrinterState()


class PrinterError(Exception):
    """A printer could not take a job; `state` says what was seen at the time."""

    def __init__(self, message: str, state: PrinterState | None = None) -> None:
        super().__init__(message)
        self.state = state or PrinterState(online=False, error=message)


# Sends `DLE EOT n` and returns the one answer byte, or None when none came in time.
Exchange = Callable[[int], int | None]


def query_state(exchange: Exchange) -> PrinterState:
    """Ask printer status, paper sensor and, when offline, why. Unknown when it never answers."""
    status = _valid(exchange(1))
    if status is None:
        return PrinterState(error="no answer to the status query")
    paper = _paper(_valid(exchange(4)))
    if not status & _OFFLINE:
        return PrinterState(online=True, paper=paper)
    return PrinterState(online=False, paper=paper, error=_offline_cause(exchange, paper))


def check_printable(state: PrinterState) -> None:
    """Raise unless a job sent now would print now.

    A printer without paper keeps the job and prints it when the roll is changed, maybe long
    after the customer left; better to fail and let the kiosk show the ticket on screen.
    """
    if state.online is None:
        raise PrinterError(state.error or "printer did not answer", replace(state, online=False))
    if state.paper is PaperLevel.OUT:
        raise PrinterError("paper out", state)
    if not state.online:
        raise PrinterError(state.error or "printer offline", state)


def _valid(answer: int | None) -> int | None:
    if answer is None or answer & _FIXED_MASK != _FIXED_BITS:
        return None
    return answer


def _paper(answer: int | None) -> PaperLevel:
    if answer is None:
        return PaperLevel.UNKNOWN
    if answer & _PAPER_END:
        return PaperLevel.OUT
    if answer & _NEAR_END:
        return PaperLevel.LOW
    return PaperLevel.OK


def _offline_cause(exchange: Exchange, paper: PaperLevel) -> str:
    cause = _valid(exchange(2))
    if cause is None:
        return "offline"
    if cause & _COVER_OPEN:
        return "cover open"
    if cause & _STOPPED_PAPER_END or paper is PaperLevel.OUT:
        return "paper out"
    if cause & _ERROR:
        return _error_cause(_valid(exchange(3)))
    if cause & _FEED_BUTTON:
        return "paper feed button held"
    return "offline"


def _error_cause(answer: int | None) -> str:
    if answer is None:
        return "printer error"
    if answer & _CUTTER_ERROR:
        return "cutter error"
    if answer & _UNRECOVERABLE:
        return "unrecoverable printer error"
    if answer & _AUTO_RECOVERABLE:
        return "printer error (head overheated?), recovering"
    return "printer error"
