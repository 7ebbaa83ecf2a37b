"""End to end: Spooler -> network driver -> a real TCP socket playing the printer -> decoder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import qrcode
import zxingcpp
from escpos_decode import (
    Cut,
    chinese_text,
    decode,
    printed_lines,
    qr_data,
    rasters,
    without_status_queries,
)
from printer_fakes import FakeNetworkPrinter, free_port, make_ticket, wait_until

from printers.jobs import JobState, PrinterStateChanged, PrintJob, SpoolerEvent
from printers.spooler import Spooler

StartPrinter = Callable[..., FakeNetworkPrinter]
MakeSpooler = Callable[..., Spooler]


def add_network(spooler: Spooler, port: int, **settings: Any) -> str:
    spooler.add_from_settings(
        {
            "id": "p1",
            "driver": "network",
            "host": "127.0.0.1",
            "port": port,
            "timeout_s": 2.0,  # generous: a healthy printer must never time out on a busy CI box
            **settings,
        }
    )
    return "p1"


def finished(spooler: Spooler, job_id: str) -> PrintJob:
    wait_until(lambda: (job := spooler.job(job_id)) is not None and job.done)
    job = spooler.job(job_id)
    assert job is not None
    return job


def test_gb18030_ticket_reaches_the_printer(
    make_spooler: MakeSpooler, network_printer: StartPrinter
) -> None:
    fake = network_printer()
    spooler = make_spooler()
    pid = add_network(spooler, fake.port, chinese_mode="gb18030")
    ticket = make_ticket()

    job = finished(spooler, spooler.submit(pid, ticket))

    assert job.state is JobState.PRINTED
    (stream,) = fake.wait_for_jobs(1)
    ops = without_status_queries(decode(stream))
    assert "VA012" in printed_lines(ops)
    assert "个人现金业务" in chinese_text(ops)
    assert qr_data(ops) == [ticket.track_url]
    assert isinstance(ops[-1], Cut)
    assert spooler.status(pid).online is True


def test_raster_ticket_reaches_the_printer(
    make_spooler: MakeSpooler, network_printer: StartPrinter
) -> None:
    fake = network_printer()
    spooler = make_spooler()
    pid = add_network(spooler, fake.port, chinese_mode="raster")
    ticket = make_ticket()

    assert finished(spooler, spooler.submit(pid, ticket)).state is JobState.PRINTED

    (stream,) = fake.wait_for_jobs(1)
    ops = without_status_queries(decode(stream))
    assert "VA012" in printed_lines(ops)
    assert chinese_text(ops) == []
    images = rasters(ops)
    assert images and {image.width for image in images} == {512}
    assert all(min(image.image.getdata()) == 0 for image in images)  # every image has ink
    (data,) = qr_data(ops)
    assert data == ticket.track_url
    symbol = qrcode.make(data, box_size=6, border=4).get_image().convert("L")
    assert [r.text for r in zxingcpp.read_barcodes(symbol)] == [ticket.track_url]
    assert isinstance(ops[-1], Cut)


def test_refused_connection_fails_the_job_not_the_request(make_spooler: MakeSpooler) -> None:
    spooler = make_spooler()
    pid = add_network(spooler, free_port())

    job_id = spooler.submit(pid, make_ticket())  # returns at once, the failure comes later

    job = finished(spooler, job_id)
    assert (job.state, job.attempts) == (JobState.FAILED, 3)
    assert job.error is not None and "refused" in job.error
    status = spooler.status(pid)
    assert (status.online, status.last_job_ok) == (False, False)


def test_hanging_printer_times_out_and_is_retried(
    make_spooler: MakeSpooler, network_printer: StartPrinter
) -> None:
    fake = network_printer("hang")
    spooler = make_spooler()
    pid = add_network(spooler, fake.port, timeout_s=0.2)

    job_ids = [spooler.submit(pid, make_ticket()) for _ in range(2)]

    for job_id in job_ids:
        job = finished(spooler, job_id)
        assert (job.state, job.attempts) == (JobState.FAILED, 3)
        assert job.error is not None and "no answer" in job.error
    assert spooler.status(pid).online is False


def test_printer_switched_off_mid_job(
    make_spooler: MakeSpooler, network_printer: StartPrinter
) -> None:
    fake = network_printer("drop", drop_after=40)
    spooler = make_spooler()
    pid = add_network(spooler, fake.port)

    job = finished(spooler, spooler.submit(pid, make_ticket()))

    assert job.state is JobState.FAILED
    # the close seen, or (a slow fake on a loaded machine, a real printer switched off)
    # the status query unanswered: failed either way, with the reason
    assert job.error is not None
    assert any(word in job.error for word in ("connection", "closed", "no answer"))
    assert spooler.status(pid).online is False


def test_printer_coming_back_goes_online_and_prints(
    make_spooler: MakeSpooler, network_printer: StartPrinter
) -> None:
    port = free_port()
    spooler = make_spooler()
    pid = add_network(spooler, port)
    changes: list[bool | None] = []

    def on_event(event: SpoolerEvent) -> None:
        if isinstance(event, PrinterStateChanged):
            changes.append(event.status.online)

    spooler.on_event(on_event)

    lost = finished(spooler, spooler.submit(pid, make_ticket(number="A001")))
    assert lost.state is JobState.FAILED  # reported, never silently dropped
    assert spooler.status(pid).online is False

    fake = network_printer(port=port)  # the printer is switched back on
    spooler.refresh(pid)
    wait_until(lambda: spooler.status(pid).online is True)
    assert spooler.status(pid).error is None

    job = finished(spooler, spooler.submit(pid, make_ticket(number="A002")))
    assert job.state is JobState.PRINTED
    (stream,) = fake.wait_for_jobs(1)
    assert "A002" in printed_lines(decode(stream))
    assert changes[0] is False and changes[-1] is True
