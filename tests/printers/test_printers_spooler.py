from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from escpos_decode import decode, printed_lines
from printer_fakes import FakeUsbPrinter, make_ticket, wait_until

from printers.drivers import DummyPrinter
from printers.escpos_render import ChineseMode, RenderOptions
from printers.jobs import (
    JobState,
    PrinterStateChanged,
    PrintJob,
    PrintJobFailed,
    PrintJobPrinted,
    SpoolerEvent,
)
from printers.spooler import Spooler, SpoolerClosed, UnknownPrinter
from printers.status import PaperLevel, PrinterState

MakeSpooler = Callable[..., Spooler]
E = TypeVar("E", PrintJobPrinted, PrintJobFailed, PrinterStateChanged)
GB = RenderOptions(ChineseMode.GB18030)


def finished(spooler: Spooler, job_id: str) -> PrintJob:
    wait_until(lambda: (job := spooler.job(job_id)) is not None and job.done)
    job = spooler.job(job_id)
    assert job is not None
    return job


class Recorder:
    def __init__(self) -> None:
        self.events: list[SpoolerEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: SpoolerEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


class TestPrinting:
    def test_job_prints_and_is_reported(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        printer = DummyPrinter()
        spooler.add_printer("p1", printer, GB)
        events = Recorder()
        spooler.on_event(events)

        job = finished(spooler, spooler.submit("p1", make_ticket()))

        assert (job.state, job.attempts, job.error, job.ticket_number) == (
            JobState.PRINTED,
            1,
            None,
            "VA012",
        )
        assert "VA012" in printed_lines(decode(printer.jobs[0]))
        wait_until(lambda: bool(events.of(PrintJobPrinted)))
        status = spooler.status("p1")
        assert (status.online, status.paper, status.last_job_ok, status.queue_length) == (
            True,
            PaperLevel.OK,
            True,
            0,
        )
        assert set(spooler.statuses()) == {"p1"}

    def test_from_settings(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        spooler.add_from_settings({"id": "d1", "driver": "dummy", "chinese_mode": "gb18030"})
        assert finished(spooler, spooler.submit("d1", make_ticket())).state is JobState.PRINTED

    def test_retries_then_prints(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        printer = FakeUsbPrinter()
        printer.failures = ["usb write timeout", "usb write timeout"]
        spooler.add_printer("u1", printer, GB)

        job = finished(spooler, spooler.submit("u1", make_ticket()))

        assert (job.state, job.attempts) == (JobState.PRINTED, 3)
        assert len(printer.jobs) == 1
        assert spooler.status("u1").online is True

    def test_gives_up_after_the_last_attempt(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        printer = FakeUsbPrinter()
        printer.always_fail = "device not found"
        spooler.add_printer("u1", printer, GB)
        events = Recorder()
        spooler.on_event(events)

        job = finished(spooler, spooler.submit("u1", make_ticket()))

        assert (job.state, job.attempts, job.error) == (JobState.FAILED, 3, "device not found")
        status = spooler.status("u1")
        assert (status.online, status.error, status.last_job_ok) == (
            False,
            "device not found",
            False,
        )
        wait_until(lambda: bool(events.of(PrintJobFailed)))
        changes = events.of(PrinterStateChanged)
        assert changes and changes[0].status.online is False

    def test_render_failure_is_not_retried(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        printer = FakeUsbPrinter()
        spooler.add_printer("u1", printer, RenderOptions(font_path="/nonexistent/font.ttc"))

        job = finished(spooler, spooler.submit("u1", make_ticket()))

        assert job.state is JobState.FAILED
        assert job.error is not None and job.error.startswith("render failed")
        assert printer.jobs == []

    def test_listener_errors_do_not_stop_printing(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        spooler.add_printer("d", DummyPrinter(), GB)

        def broken(_: SpoolerEvent) -> None:
            raise RuntimeError("listener bug")

        spooler.on_event(broken)
        for _ in range(2):
            assert finished(spooler, spooler.submit("d", make_ticket())).state is JobState.PRINTED

    def test_unsubscribe(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        spooler.add_printer("d", DummyPrinter(), GB)
        events = Recorder()
        spooler.on_event(events)()
        finished(spooler, spooler.submit("d", make_ticket()))
        assert events.events == []


class TestNeverBlocksNeverLoses:
    def test_submit_returns_while_the_printer_is_stuck(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        printer = FakeUsbPrinter()
        printer.release.clear()  # the first send() blocks inside the driver
        spooler.add_printer("u1", printer, GB)

        first = spooler.submit("u1", make_ticket())
        assert printer.entered.wait(5)
        more = [spooler.submit("u1", make_ticket(number=f"A{i:03}")) for i in range(5)]

        assert spooler.job(first).state is JobState.PRINTING  # type: ignore[union-attr]
        assert {spooler.job(j).state for j in more} == {JobState.QUEUED}  # type: ignore[union-attr]
        assert spooler.status("u1").queue_length == 6

        printer.release.set()
        assert {finished(spooler, j).state for j in [first, *more]} == {JobState.PRINTED}
        assert len(printer.jobs) == 6

    def test_a_stuck_printer_does_not_hold_up_the_others(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        stuck = FakeUsbPrinter()
        stuck.release.clear()
        spooler.add_printer("stuck", stuck, GB)
        others = {f"p{i}": DummyPrinter() for i in range(3)}
        for printer_id, printer in others.items():
            spooler.add_printer(printer_id, printer, RenderOptions(ChineseMode.RASTER))
        spooler.submit("stuck", make_ticket())
        assert stuck.entered.wait(5)

        jobs = [
            spooler.submit(pid, make_ticket(number=f"B{i:03}")) for i in range(5) for pid in others
        ]

        assert {finished(spooler, j).state for j in jobs} == {JobState.PRINTED}
        assert all(len(p.jobs) == 5 for p in others.values())
        assert spooler.status("stuck").queue_length == 1
        stuck.release.set()

    def test_full_queue_fails_new_jobs_at_once(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler(max_queue=2)
        printer = FakeUsbPrinter()
        printer.release.clear()
        spooler.add_printer("u1", printer, GB)
        spooler.submit("u1", make_ticket())
        assert printer.entered.wait(5)
        queued = [spooler.submit("u1", make_ticket()) for _ in range(2)]

        overflow = finished(spooler, spooler.submit("u1", make_ticket()))

        assert (overflow.state, overflow.error) == (JobState.FAILED, "printer queue full")
        printer.release.set()
        assert {finished(spooler, j).state for j in queued} == {JobState.PRINTED}

    def test_stale_jobs_expire_instead_of_printing_late(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler(job_ttl_s=0.0)
        printer = FakeUsbPrinter()
        spooler.add_printer("u1", printer, GB)
        job = finished(spooler, spooler.submit("u1", make_ticket()))
        assert job.state is JobState.FAILED
        assert job.error is not None and "expired" in job.error
        assert printer.jobs == []

    def test_close_reports_queued_jobs_as_failed(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        printer = FakeUsbPrinter()
        printer.release.clear()
        spooler.add_printer("u1", printer, GB)
        first = spooler.submit("u1", make_ticket())
        assert printer.entered.wait(5)
        queued = [spooler.submit("u1", make_ticket()) for _ in range(3)]
        releaser = threading.Timer(0.05, printer.release.set)  # the stuck write ends eventually
        releaser.start()

        spooler.close(timeout_s=5)

        assert spooler.job(first).state is JobState.PRINTED  # type: ignore[union-attr]
        for job_id in queued:
            job = spooler.job(job_id)
            assert job is not None
            assert (job.state, job.error) == (JobState.FAILED, "spooler closed")
        assert printer.closed
        with pytest.raises(SpoolerClosed):
            spooler.submit("u1", make_ticket())
        releaser.join()

    def test_unknown_printer_is_a_configuration_error(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        with pytest.raises(UnknownPrinter):
            spooler.submit("nope", make_ticket())
        with pytest.raises(UnknownPrinter):
            spooler.status("nope")


class TestPrinterState:
    def test_refresh_reads_the_printer(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler()
        printer = FakeUsbPrinter()
        spooler.add_printer("u1", printer, GB)
        events = Recorder()
        spooler.on_event(events)

        printer.state = PrinterState(online=False, paper=PaperLevel.OUT, error="paper out")
        spooler.refresh("u1")
        wait_until(lambda: spooler.status("u1").paper is PaperLevel.OUT)
        printer.state = PrinterState(online=True, paper=PaperLevel.LOW)
        spooler.refresh("u1")
        wait_until(lambda: spooler.status("u1").online is True)

        assert spooler.status("u1").paper is PaperLevel.LOW
        states = [(e.status.online, e.status.paper) for e in events.of(PrinterStateChanged)]
        assert states == [(False, PaperLevel.OUT), (True, PaperLevel.LOW)]

    def test_idle_printers_are_probed_periodically(self, make_spooler: MakeSpooler) -> None:
        spooler = make_spooler(probe_interval_s=0.01)
        printer = FakeUsbPrinter()
        spooler.add_printer("u1", printer, GB)
        wait_until(lambda: printer.status_calls >= 3)
        assert spooler.status("u1").online is True
