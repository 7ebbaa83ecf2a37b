from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from escpos_decode import Cut, StatusQuery, decode, printed_lines, without_status_queries
from printer_fakes import (
    STATUS_COVER_OPEN,
    STATUS_PAPER_LOW,
    STATUS_PAPER_OUT,
    FakeNetworkPrinter,
    FakeUsbPrinter,
    free_port,
    make_ticket,
)

from printers.device import EscposDevicePrinter, serial_printer, usb_printer
from printers.drivers import DummyPrinter, FilePrinter, TicketPrinter, open_printer
from printers.escpos_render import ChineseMode, RenderOptions, render_ticket
from printers.network import NetworkPrinter
from printers.settings import DriverKind, PrinterConfigError, PrinterSettings
from printers.status import PaperLevel, PrinterError, PrinterState, query_state

StartPrinter = Callable[..., FakeNetworkPrinter]
JOB = render_ticket(make_ticket(), RenderOptions(ChineseMode.GB18030))


def network(port: int, **settings: Any) -> TicketPrinter:
    # Generous by default so a loaded CI machine never fails a healthy printer; the tests of
    # silent printers pass a short timeout.
    base = {"id": "p1", "driver": "network", "host": "127.0.0.1", "port": port, "timeout_s": 2.0}
    return open_printer({**base, **settings})


class TestSettings:
    def test_defaults_follow_the_config_contract(self) -> None:
        s = PrinterSettings.from_mapping({"id": "p1", "driver": "network", "host": "10.0.0.5"})
        assert (s.port, s.profile, s.chinese_mode, s.device) == (
            9100,
            "TM-T88V",
            None,
            "/dev/usb/lp0",
        )
        # Epson's international TM-T88V has no Chinese font: Chinese is drawn.
        assert s.render_options == RenderOptions(ChineseMode.RASTER, "TM-T88V")

    def test_none_means_default(self) -> None:
        raw = {"id": "d", "driver": "dummy", "host": None, "port": None, "timeout_s": None}
        s = PrinterSettings.from_mapping(raw)
        assert (s.host, s.port, s.timeout_s) == (None, 9100, 3.0)

    def test_usb_ids_in_hex_as_lsusb_shows_them(self) -> None:
        s = PrinterSettings.from_mapping(
            {"id": "u", "driver": "usb", "vendor_id": "0x04b8", "product_id": "0202"}
        )
        assert (s.vendor_id, s.product_id, s.driver) == (0x04B8, 0x0202, DriverKind.USB)

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ({"id": "p", "driver": "network"}, "needs 'host'"),
            ({"id": "p", "driver": "usb", "vendor_id": 1}, "needs 'vendor_id' and 'product_id'"),
            ({"id": "p", "driver": "serial"}, "needs 'serial_port'"),
            ({"id": "p", "driver": "laser"}, "laser"),
            ({"id": "p", "driver": "dummy", "chinese_mode": "utf8"}, "utf8"),
            ({"id": "p", "driver": "dummy", "profile": "TM-NOPE"}, "TM-NOPE"),
            ({"id": "p", "driver": "dummy", "hots": "x"}, "unknown key"),
            ({"id": "p", "driver": "dummy", "width_dots": 100}, "width_dots 100"),
            ({"id": "p", "driver": "dummy", "width_dots": 384, "columns": 42}, "do not fit"),
            ({"id": "p", "driver": "dummy", "columns": "48"}, "'columns' must be an integer"),
            ({"id": "p", "driver": "dummy", "chinese_charset": "big5"}, "'chinese_charset'"),
            ({"id": "p", "driver": "dummy", "chinese_code_system": 300}, "not a byte"),
            ({"id": "p", "driver": "dummy", "port": "9100"}, "'port' must be an integer"),
            ({"driver": "dummy"}, "'id' is required"),
        ],
    )
    def test_mistakes_name_the_printer_and_the_key(self, raw: dict[str, Any], message: str) -> None:
        with pytest.raises(PrinterConfigError, match=message):
            PrinterSettings.from_mapping(raw)


class TestDummyAndFile:
    def test_dummy_keeps_the_bytes(self) -> None:
        printer = open_printer({"id": "d", "driver": "dummy"})
        assert isinstance(printer, DummyPrinter)
        printer.send(JOB)
        assert printer.jobs == [JOB]
        state = printer.status()
        assert (state.online, state.paper, state.last_job_ok) == (True, PaperLevel.OK, True)

    def test_file_appends_jobs(self, tmp_path: Path) -> None:
        path = tmp_path / "lp0"
        printer = open_printer({"id": "f", "driver": "file", "device": str(path)})
        assert isinstance(printer, FilePrinter)
        printer.send(JOB)
        printer.send(JOB)
        assert path.read_bytes() == JOB + JOB
        assert printer.status().online is True

    def test_device_node_is_written_without_blocking(self) -> None:
        printer = open_printer({"id": "f", "driver": "file", "device": "/dev/null"})
        printer.send(JOB)  # a character device: the bounded, non-blocking path
        assert printer.status().online is True

    def test_every_driver_is_a_ticket_printer(self, tmp_path: Path) -> None:
        drivers = [
            DummyPrinter(),
            FilePrinter(str(tmp_path / "x")),
            NetworkPrinter("127.0.0.1"),
            usb_printer(1, 2),
            serial_printer("/dev/ttyS0"),
            FakeUsbPrinter(),
        ]
        assert all(isinstance(d, TicketPrinter) for d in drivers)

    def test_missing_device_node_is_offline_and_never_created(self) -> None:
        device = "/dev/usb/lobbyq-test-no-such-printer"
        printer = open_printer({"id": "f", "driver": "file", "device": device})
        with pytest.raises(PrinterError, match="cannot open"):
            printer.send(JOB)
        assert not os.path.exists(device)
        assert printer.status().online is False


class TestNetworkDriver:
    def test_job_arrives_bracketed_by_status_queries(self, network_printer: StartPrinter) -> None:
        fake = network_printer()
        printer = network(fake.port)
        assert isinstance(printer, NetworkPrinter)

        printer.send(JOB)

        (stream,) = fake.wait_for_jobs(1)
        ops = decode(stream)
        assert ops[0] == StatusQuery(1)  # asked before sending anything
        assert isinstance(ops[-1], StatusQuery)  # and again after the job
        assert decode(JOB) == without_status_queries(ops)
        assert "VA012" in printed_lines(ops)
        state = printer.status()
        assert (state.online, state.paper, state.error, state.last_job_ok) == (
            True,
            PaperLevel.OK,
            None,
            True,
        )

    def test_status_of_a_printer_low_on_paper(self, network_printer: StartPrinter) -> None:
        fake = network_printer(status=STATUS_PAPER_LOW)
        printer = network(fake.port)
        printer.send(JOB)  # near-end still prints
        assert printer.status().paper is PaperLevel.LOW

    def test_paper_out_refuses_the_job_before_sending_it(
        self, network_printer: StartPrinter
    ) -> None:
        fake = network_printer(status=STATUS_PAPER_OUT)
        printer = network(fake.port)
        with pytest.raises(PrinterError, match="paper out") as failure:
            printer.send(JOB)
        assert failure.value.state.paper is PaperLevel.OUT
        assert fake.jobs() == []  # nothing left in its buffer to print an hour later

    def test_cover_open(self, network_printer: StartPrinter) -> None:
        fake = network_printer(status=STATUS_COVER_OPEN)
        state = network(fake.port).status()
        assert (state.online, state.error) == (False, "cover open")

    def test_refused_connection(self) -> None:
        printer = network(free_port())
        with pytest.raises(PrinterError, match="refused") as failure:
            printer.send(JOB)
        assert failure.value.state.online is False
        assert printer.status().online is False

    def test_hanging_printer_times_out(self, network_printer: StartPrinter) -> None:
        fake = network_printer("hang")
        printer = network(fake.port, timeout_s=0.2)
        with pytest.raises(PrinterError, match="no answer"):
            printer.send(JOB)
        state = printer.status()  # connected but silent: nobody can tell its state
        assert (state.online, state.paper) == (None, PaperLevel.UNKNOWN)

    def test_printer_vanishing_mid_job(self, network_printer: StartPrinter) -> None:
        fake = network_printer("drop", drop_after=40)
        printer = network(fake.port)
        # Either the close is seen (reset, end of stream) or, when the fake's thread is
        # slow to run on a loaded machine, the status query goes unanswered first, as
        # with a real printer switched off (no FIN ever comes). The job fails either way.
        with pytest.raises(PrinterError, match="connection|closed|no answer"):
            printer.send(JOB)

    def test_mute_printer_fails_unless_status_check_is_off(
        self, network_printer: StartPrinter
    ) -> None:
        fake = network_printer("mute")  # reads everything, never answers DLE EOT
        with pytest.raises(PrinterError, match="no answer"):
            network(fake.port, timeout_s=0.2).send(JOB)

        write_only = network(fake.port, status_check=False)
        write_only.send(JOB)
        assert JOB in fake.wait_for_jobs(1)
        assert write_only.status().online is True


class FakeEscposDevice:
    """Stands in for python-escpos's Usb/Serial object: `_raw` writes, answers are scripted."""

    def __init__(self, status: dict[int, int]) -> None:
        self.status = status
        self.written = bytearray()
        self.pending = bytearray()
        self.closed = False

    def _raw(self, data: bytes) -> None:
        self.written += data
        if data[:2] == b"\x10\x04":
            self.pending.append(self.status[data[2]])

    def read(self, _wait_s: float) -> bytes:
        answer, self.pending = bytes(self.pending), bytearray()
        return answer

    def close(self) -> None:
        self.closed = True


class TestUsbAndSerialDrivers:
    def test_device_driver_sends_and_reads_status(self) -> None:
        device = FakeEscposDevice(STATUS_PAPER_LOW)
        printer = EscposDevicePrinter("fake usb", lambda: device, lambda d, w: d.read(w))
        printer.send(JOB)
        assert decode(JOB) == without_status_queries(decode(bytes(device.written)))
        assert isinstance(decode(JOB)[-1], Cut)
        assert printer.status().paper is PaperLevel.LOW

    def test_device_that_cannot_be_opened_is_offline(self) -> None:
        def unplugged() -> object:
            raise OSError("No such device")

        printer = EscposDevicePrinter("usb 04b8:0202", unplugged, lambda d, w: b"")
        with pytest.raises(PrinterError, match="cannot open usb 04b8:0202"):
            printer.send(JOB)
        assert printer.status().online is False

    def test_real_usb_and_serial_drivers_fail_cleanly_without_hardware(self) -> None:
        # No printer (and maybe no pyusb / pyserial) here: still an error, never a crash.
        for printer in (
            usb_printer(0x04B8, 0x0202, timeout_s=0.2),
            serial_printer("/dev/ttyLOBBYQ-none", timeout_s=0.2),
        ):
            with pytest.raises(PrinterError, match="cannot open"):
                printer.send(JOB)
            assert printer.status().online is False
            printer.close()


class TestStatusQuery:
    @pytest.mark.parametrize(
        ("answers", "expected"),
        [
            ({1: 0x12, 4: 0x12}, PrinterState(online=True, paper=PaperLevel.OK)),
            ({1: 0x12, 4: 0x1E}, PrinterState(online=True, paper=PaperLevel.LOW)),
            (
                STATUS_PAPER_OUT,
                PrinterState(online=False, paper=PaperLevel.OUT, error="paper out"),
            ),
            (
                {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12},
                PrinterState(False, PaperLevel.OK, "cutter error"),
            ),
            ({}, PrinterState(error="no answer to the status query")),
            ({1: 0xFF}, PrinterState(error="no answer to the status query")),  # not a status byte
        ],
    )
    def test_bits(self, answers: dict[int, int], expected: PrinterState) -> None:
        assert query_state(answers.get) == expected
