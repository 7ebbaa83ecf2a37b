"""Values the spooler hands out: job and printer snapshots, its events, its retry policy.

All are frozen: a snapshot read from one thread cannot change under the reader while a worker
thread moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from printers.status import PaperLevel, PrinterState

__all__ = [
    "JobState",
    "PrintJob",
    "PrintJobFailed",
    "PrintJobPrinted",
    "PrinterStateChanged",
    "PrinterStatus",
    "RetryPolicy",
    "SpoolerEvent",
]


class JobState(StrEnum):
    QUEUED = "queued"
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PrintJob:
    job_id: str
    printer_id: str
    ticket_number: str
    state: JobState
    submitted_at: datetime
    attempts: int = 0
    error: str | None = None  # the last attempt's error; kept on a failed job
    finished_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.state in (JobState.PRINTED, JobState.FAILED)


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """One printer as the spooler knows it; cheap to read, never touches the printer."""

    printer_id: str
    online: bool | None
    paper: PaperLevel
    error: str | None
    last_job_at: datetime | None
    last_job_ok: bool | None
    queue_length: int  # jobs not finished yet, including the one printing

    @classmethod
    def of(cls, printer_id: str, state: PrinterState, queue_length: int) -> PrinterStatus:
        return cls(
            printer_id=printer_id,
            online=state.online,
            paper=state.paper,
            error=state.error,
            last_job_at=state.last_job_at,
            last_job_ok=state.last_job_ok,
            queue_length=queue_length,
        )


@dataclass(frozen=True, slots=True)
class PrintJobPrinted:
    job: PrintJob


@dataclass(frozen=True, slots=True)
class PrintJobFailed:
    job: PrintJob


@dataclass(frozen=True, slots=True)
class PrinterStateChanged:
    """Online, paper or error changed (not the queue length: job events cover that)."""

    status: PrinterStatus


SpoolerEvent = PrintJobPrinted | PrintJobFailed | PrinterStateChanged


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff: with the defaults, 3 attempts 0.2 s then 0.4 s apart."""

    attempts: int = 3
    first_delay_s: float = 0.2
    factor: float = 2.0
    max_delay_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be >= 1")
        if self.first_delay_s < 0 or self.factor < 1 or self.max_delay_s < 0:
            raise ValueError("delays must be >= 0 and factor >= 1")

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (2, 3, ...)."""
        return min(self.max_delay_s, self.first_delay_s * self.factor ** (attempt - 2))
