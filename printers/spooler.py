"""The print spooler: tickets print beside the request, never inside it.

`submit()` only appends to a queue and returns a job id. One worker thread per printer renders
and sends, so a printer that hangs until its timeout delays only its own queue. A job is tried
a bounded number of times with exponential backoff and then reported failed: the ticket itself
lives in the server, which (like the kiosk screen) does not depend on paper.

Callbacks given to `on_event` run on the printer's worker thread; they must be quick and must
not block (an asyncio server hands the event to its loop with `call_soon_threadsafe`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from printers.driver_base import utc_now
from printers.drivers import TicketPrinter, open_printer
from printers.escpos_render import RenderOptions, render_ticket
from printers.jobs import (
    JobState,
    PrinterStateChanged,
    PrinterStatus,
    PrintJob,
    PrintJobFailed,
    PrintJobPrinted,
    RetryPolicy,
    SpoolerEvent,
)
from printers.settings import PrinterSettings
from printers.status import PrinterError, PrinterState
from printers.ticket import TicketPrint

__all__ = ["Spooler", "SpoolerClosed", "UnknownPrinter"]

log = logging.getLogger(__name__)

EventCallback = Callable[[SpoolerEvent], None]


class UnknownPrinter(LookupError):
    """No printer with this id was added: a configuration mistake, not a printer problem."""


class SpoolerClosed(RuntimeError):
    pass


@dataclass(slots=True)
class _Job:
    job_id: str
    ticket: TicketPrint
    queued_at: float  # monotonic, for the queue time limit


@dataclass(slots=True)
class _Printer:
    printer_id: str
    driver: TicketPrinter
    options: RenderOptions
    wake: threading.Condition
    state: PrinterState = field(default_factory=PrinterState)
    queue: deque[_Job] = field(default_factory=deque)
    busy: bool = False
    probe_at: float = 0.0  # monotonic time of the next health probe (0: as soon as idle)
    outbox: list[SpoolerEvent] = field(default_factory=list)  # made outside the worker
    thread: threading.Thread | None = None


class Spooler:
    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        probe_interval_s: float | None = 30.0,
        max_queue: int = 50,
        job_ttl_s: float | None = 120.0,
        keep_jobs: int = 1000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """
        probe_interval_s: how often an idle printer is asked for its status, so that paper
            running out, a printer going offline or coming back show without waiting for a
            ticket; None: only after jobs and on `refresh()`.
        max_queue: jobs waiting per printer; more are failed at once rather than piled up.
        job_ttl_s: a job still queued this long is failed instead of printed: the customer has
            long walked away with the number from the screen.
        keep_jobs: finished jobs remembered for `job()`.
        """
        self.retry = retry or RetryPolicy()
        self.probe_interval_s = probe_interval_s
        self.max_queue = max_queue
        self.job_ttl_s = job_ttl_s
        self.keep_jobs = keep_jobs
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._printers: dict[str, _Printer] = {}
        self._jobs: OrderedDict[str, PrintJob] = OrderedDict()
        self._callbacks: list[EventCallback] = []

    # -- setup -------------------------------------------------------------------------

    def add_printer(
        self, printer_id: str, printer: TicketPrinter, options: RenderOptions | None = None
    ) -> None:
        with self._lock:
            if self._stop.is_set():
                raise SpoolerClosed("spooler is closed")
            if printer_id in self._printers:
                raise ValueError(f"printer {printer_id!r} already added")
            p = _Printer(
                printer_id, printer, options or RenderOptions(), threading.Condition(self._lock)
            )
            if self.probe_interval_s is None:
                p.probe_at = float("inf")
            self._printers[printer_id] = p
        p.thread = threading.Thread(
            target=self._run, args=(p,), name=f"lobbyq-printer-{printer_id}", daemon=True
        )
        p.thread.start()

    def add_from_settings(self, settings: Mapping[str, Any] | PrinterSettings) -> None:
        """Open the driver for one `[[branches.printers]]` table and add it."""
        s = (
            settings
            if isinstance(settings, PrinterSettings)
            else PrinterSettings.from_mapping(settings)
        )
        self.add_printer(s.id, open_printer(s, clock=self._clock), s.render_options)

    @property
    def printer_ids(self) -> list[str]:
        with self._lock:
            return list(self._printers)

    def on_event(self, callback: EventCallback) -> Callable[[], None]:
        """Call `callback` on job printed / failed and printer state change; returns unsubscribe."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    # -- the request side: never blocks on a printer ---------------------------------------

    def submit(self, printer_id: str, ticket: TicketPrint) -> str:
        """Queue a ticket and return its job id at once. Printer trouble shows in `job()`."""
        with self._lock:
            if self._stop.is_set():
                raise SpoolerClosed("spooler is closed")
            p = self._printers.get(printer_id)
            if p is None:
                raise UnknownPrinter(printer_id)
            job = PrintJob(
                job_id=uuid.uuid4().hex,
                printer_id=printer_id,
                ticket_number=ticket.number,
                state=JobState.QUEUED,
                submitted_at=self._clock(),
            )
            self._remember(job)
            if len(p.queue) >= self.max_queue:
                failed = self._finish(job, JobState.FAILED, "printer queue full")
                p.outbox.append(PrintJobFailed(failed))  # the worker emits it, not the request
            else:
                p.queue.append(_Job(job.job_id, ticket, time.monotonic()))
            p.wake.notify()
            return job.job_id

    def job(self, job_id: str) -> PrintJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def status(self, printer_id: str) -> PrinterStatus:
        with self._lock:
            p = self._printers.get(printer_id)
            if p is None:
                raise UnknownPrinter(printer_id)
            return self._snapshot(p)

    def statuses(self) -> dict[str, PrinterStatus]:
        with self._lock:
            return {pid: self._snapshot(p) for pid, p in self._printers.items()}

    def refresh(self, printer_id: str) -> None:
        """Ask the printer for its status as soon as its worker is idle."""
        with self._lock:
            p = self._printers.get(printer_id)
            if p is None:
                raise UnknownPrinter(printer_id)
            p.probe_at = 0.0
            p.wake.notify()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the workers; jobs still queued are reported failed, none silently dropped."""
        with self._lock:
            if self._stop.is_set():
                return
            self._stop.set()
            printers = list(self._printers.values())
            for p in printers:
                p.wake.notify_all()
        deadline = time.monotonic() + timeout_s
        for p in printers:
            # close() may come from an event callback, i.e. from a worker itself.
            if p.thread is not None and p.thread is not threading.current_thread():
                p.thread.join(max(0.0, deadline - time.monotonic()))
        events: list[SpoolerEvent] = []
        with self._lock:
            for p in printers:
                events += p.outbox
                p.outbox = []
                while p.queue:
                    job = self._jobs[p.queue.popleft().job_id]
                    events.append(
                        PrintJobFailed(self._finish(job, JobState.FAILED, "spooler closed"))
                    )
            # A job still being sent when the time was up is not left "printing": it
            # may or may not have come out, and the kiosk shows the ticket on screen.
            for job in list(self._jobs.values()):
                if job.state is JobState.PRINTING:
                    failed = self._finish(job, JobState.FAILED, "spooler closed while printing")
                    events.append(PrintJobFailed(failed))
        self._emit(events)
        for p in printers:
            try:
                p.driver.close()
            except Exception:
                log.exception("closing printer %s", p.printer_id)

    def __enter__(self) -> Spooler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the worker side --------------------------------------------------------------------

    def _run(self, p: _Printer) -> None:
        while True:
            job, probe, events = self._next_task(p)
            self._emit(events)
            if job is not None:
                self._print(p, job)
            elif probe:
                self._probe(p)
            elif self._stop.is_set():
                return

    def _next_task(self, p: _Printer) -> tuple[_Job | None, bool, list[SpoolerEvent]]:
        with self._lock:
            while True:
                events, p.outbox = p.outbox, []
                if self._stop.is_set():
                    return None, False, events
                if p.queue:
                    job = p.queue.popleft()
                    p.busy = True
                    self._update(job.job_id, state=JobState.PRINTING)
                    return job, False, events
                wait = p.probe_at - time.monotonic()
                if wait <= 0:
                    return None, True, events
                if events:
                    return None, False, events
                p.wake.wait(timeout=min(wait, 3600.0))

    def _print(self, p: _Printer, job: _Job) -> None:
        try:
            error = self._attempt_all(p, job)
        except Exception as exc:  # never a dead worker, nor a job left "printing" forever
            log.exception("printer %s worker", p.printer_id)
            error = f"internal error: {exc!r}"
        finally:
            with self._lock:
                p.busy = False
        self._done(job, error)

    def _attempt_all(self, p: _Printer, job: _Job) -> str | None:
        """Print `job` with retries; the error of the last attempt, or None once printed."""
        if self.job_ttl_s is not None and time.monotonic() - job.queued_at > self.job_ttl_s:
            return f"expired after {self.job_ttl_s:g} s in the queue"
        try:
            data = render_ticket(job.ticket, p.options)
        except Exception as exc:  # a bad ticket or a missing font: retrying cannot help
            log.exception("rendering ticket %s", job.ticket.number)
            return f"render failed: {exc}"
        error = "not attempted"
        for attempt in range(1, self.retry.attempts + 1):
            if attempt > 1 and self._stop.wait(self.retry.delay_before(attempt)):
                return f"spooler closed; last error: {error}"
            with self._lock:
                self._update(job.job_id, attempts=attempt)
            try:
                p.driver.send(data)
            except PrinterError as exc:
                error = str(exc)
                self._set_state(p, replace(exc.state, error=error), job_ok=False)
                continue
            except Exception as exc:  # a driver bug must not kill the worker
                log.exception("printer %s driver", p.printer_id)
                error = f"driver error: {exc!r}"
                self._set_state(p, PrinterState(online=False, error=error), job_ok=False)
                continue
            self._set_state(p, self._driver_status(p), job_ok=True)
            return None
        return error

    def _probe(self, p: _Printer) -> None:
        self._set_state(p, self._driver_status(p), job_ok=None)

    def _driver_status(self, p: _Printer) -> PrinterState:
        try:
            return p.driver.status()
        except Exception as exc:  # status() must not raise; a driver that does is offline
            log.exception("printer %s status", p.printer_id)
            return PrinterState(online=False, error=f"status failed: {exc!r}")

    def _set_state(self, p: _Printer, state: PrinterState, *, job_ok: bool | None) -> None:
        """Record what was seen; the spooler, not the driver, owns the last-job fields."""
        with self._lock:
            old = p.state
            if job_ok is None:
                state = replace(state, last_job_at=old.last_job_at, last_job_ok=old.last_job_ok)
            else:
                state = replace(state, last_job_at=self._clock(), last_job_ok=job_ok)
            # Whatever was just seen is fresh: the next unasked probe is one interval away.
            p.probe_at = time.monotonic() + (
                float("inf") if self.probe_interval_s is None else self.probe_interval_s
            )
            p.state = state
            changed = (old.online, old.paper, old.error) != (state.online, state.paper, state.error)
            snapshot = self._snapshot(p)
        if changed:
            self._emit([PrinterStateChanged(snapshot)])

    def _done(self, job: _Job, error: str | None) -> None:
        with self._lock:
            final = self._finish(
                self._jobs[job.job_id], JobState.FAILED if error else JobState.PRINTED, error
            )
        self._emit([PrintJobFailed(final) if error else PrintJobPrinted(final)])

    # -- bookkeeping (callers hold the lock) ------------------------------------------------

    def _snapshot(self, p: _Printer) -> PrinterStatus:
        return PrinterStatus.of(p.printer_id, p.state, len(p.queue) + (1 if p.busy else 0))

    def _remember(self, job: PrintJob) -> None:
        self._jobs[job.job_id] = job
        if len(self._jobs) > self.keep_jobs:
            # Forget the oldest finished jobs; a job still queued is never forgotten.
            excess = len(self._jobs) - self.keep_jobs
            for job_id in [j for j, v in self._jobs.items() if v.done][:excess]:
                del self._jobs[job_id]

    def _update(self, job_id: str, **changes: Any) -> PrintJob:
        job = replace(self._jobs[job_id], **changes)
        self._jobs[job_id] = job
        return job

    def _finish(self, job: PrintJob, state: JobState, error: str | None) -> PrintJob:
        return self._update(job.job_id, state=state, error=error, finished_at=self._clock())

    def _emit(self, events: list[SpoolerEvent]) -> None:
        if not events:
            return
        with self._lock:
            callbacks = list(self._callbacks)
        for event in events:
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:  # a listener's bug must not stop printing
                    log.exception("spooler event callback")
