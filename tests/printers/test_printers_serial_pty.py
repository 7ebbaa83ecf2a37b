"""The serial driver through a real pseudo-terminal pair: pyserial opens /dev/pts/N exactly as
it opens a COM port, and a thread on the master side plays the printer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from escpos_decode import (
    Cut,
    Init,
    StatusQuery,
    chinese_text,
    decode,
    printed_rows,
    qr_data,
    without_status_queries,
)
from printer_fakes import STATUS_PAPER_LOW, STATUS_PAPER_OUT, PtyPrinter, make_ticket, wait_until

from printers.escpos_render import render_ticket
from printers.jobs import JobState, RetryPolicy
from printers.settings import PrinterSettings
from printers.spooler import Spooler
from printers.status import PaperLevel

# Slow enough between attempts for a test to see the first failure, and bounded.
PATIENT_RETRY = RetryPolicy(attempts=4, first_delay_s=0.3, factor=1.0, max_delay_s=0.3)


@pytest.fixture
def pty_printer() -> Iterator[Callable[..., PtyPrinter]]:
    started: list[PtyPrinter] = []

    def start(**kwargs: Any) -> PtyPrinter:
        started.append(PtyPrinter(**kwargs))
        return started[-1]

    yield start
    for printer in started:
        printer.stop()


def serial(printer: PtyPrinter, **extra: Any) -> dict[str, Any]:
    return {
        "id": "s1",
        "driver": "serial",
        "serial_port": printer.port,
        "baudrate": 19200,
        "timeout_s": 0.5,
        "profile": "XP-58",
        **extra,
    }


class TestSerialPrinterOnAPty:
    def test_ticket_arrives_whole_between_status_queries(
        self, pty_printer: Callable[..., PtyPrinter], make_spooler: Callable[..., Spooler]
    ) -> None:
        printer = pty_printer()
        spooler = make_spooler()
        spooler.add_from_settings(serial(printer))
        ticket = make_ticket()

        job_id = spooler.submit("s1", ticket)
        wait_until(lambda: spooler.job(job_id).done)  # type: ignore[union-attr]

        assert spooler.job(job_id).state is JobState.PRINTED  # type: ignore[union-attr]
        ops = decode(printer.stream())
        assert isinstance(ops[0], StatusQuery)  # asked before the job...
        assert isinstance(ops[-1], StatusQuery)  # ...and after it
        job = without_status_queries(ops)
        assert job[0] == Init()
        assert "深圳福田支行" in chinese_text(job)  # XP-58: the printer's own GB font
        assert qr_data(job) == [ticket.track_url]
        rules = [r for r in printed_rows(job) if set(r.text) == {"-"}]
        assert rules and all(r.dots == 384 for r in rules)  # 58 mm paper, 32 columns
        assert not any(isinstance(op, Cut) for op in job)  # no cutter on an XP-58

    def test_paper_low_and_paper_out_are_read_over_the_line(
        self, pty_printer: Callable[..., PtyPrinter], make_spooler: Callable[..., Spooler]
    ) -> None:
        printer = pty_printer(status=STATUS_PAPER_LOW)
        spooler = make_spooler()
        spooler.add_from_settings(serial(printer))
        spooler.refresh("s1")
        wait_until(lambda: spooler.status("s1").paper is PaperLevel.LOW)

        printer.status = dict(STATUS_PAPER_OUT)
        job_id = spooler.submit("s1", make_ticket())
        wait_until(lambda: spooler.job(job_id).done)  # type: ignore[union-attr]
        job = spooler.job(job_id)
        assert job is not None and job.state is JobState.FAILED and job.error == "paper out"
        # Refused before sending: only status queries went down the line.
        assert without_status_queries(decode(printer.stream())) == []

    def test_printer_that_stops_reading_fails_the_job_without_blocking_the_spooler(
        self, pty_printer: Callable[..., PtyPrinter], make_spooler: Callable[..., Spooler]
    ) -> None:
        printer = pty_printer()
        spooler = make_spooler()
        spooler.add_from_settings(serial(printer, chinese_mode="raster"))  # ~20 KB: fills the pty
        spooler.add_from_settings({"id": "d1", "driver": "dummy"})
        printer.stop_reading()

        stuck = spooler.submit("s1", make_ticket(number="A001"))  # returns at once
        other = spooler.submit("d1", make_ticket(number="A002"))
        wait_until(lambda: spooler.job(other).done)  # type: ignore[union-attr]
        assert spooler.job(other).state is JobState.PRINTED  # type: ignore[union-attr]

        wait_until(lambda: spooler.job(stuck).done)  # type: ignore[union-attr]
        failed = spooler.job(stuck)
        assert failed is not None and failed.state is JobState.FAILED
        assert failed.error  # the kiosk shows the ticket on screen with this reason
        assert spooler.status("s1").online is False

        printer.resume()  # the jam cleared: the next ticket prints whole
        before = len(printer.stream())
        ticket = make_ticket(number="A003")
        job_id = spooler.submit("s1", ticket)
        wait_until(lambda: spooler.job(job_id).done)  # type: ignore[union-attr]
        assert spooler.job(job_id).state is JobState.PRINTED  # type: ignore[union-attr]
        expected = render_ticket(
            ticket,
            PrinterSettings.from_mapping(serial(printer, chinese_mode="raster")).render_options,
        )
        assert expected in printer.stream()[before:]

    def test_printer_stalled_mid_ticket_gets_it_whole_on_a_retry(
        self, pty_printer: Callable[..., PtyPrinter], make_spooler: Callable[..., Spooler]
    ) -> None:
        # A write-only printer (no status answers) that stalls half-way through a ticket and
        # recovers before the spooler gives up: the ticket is printed, not lost.
        printer = pty_printer()
        spooler = make_spooler(retry=PATIENT_RETRY)
        settings = serial(printer, chinese_mode="raster", status_check=False)
        spooler.add_from_settings(settings)
        printer.stop_reading()
        ticket = make_ticket(number="B007")

        job_id = spooler.submit("s1", ticket)
        wait_until(lambda: spooler.status("s1").error is not None)  # first attempt timed out
        assert not spooler.job(job_id).done  # type: ignore[union-attr]
        printer.resume()

        wait_until(lambda: spooler.job(job_id).done)  # type: ignore[union-attr]
        job = spooler.job(job_id)
        assert job is not None and job.state is JobState.PRINTED and job.attempts >= 2
        expected = render_ticket(ticket, PrinterSettings.from_mapping(settings).render_options)
        # The stalled attempt's bytes came first (a real printer prints them too), then the
        # whole ticket once more.
        assert printer.stream().endswith(expected)
        assert "B007" in [r.text for r in printed_rows(decode(expected))]
