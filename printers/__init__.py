"""Ticket printing: layout (pure), ESC/POS rendering, PNG preview, drivers and the spooler.

Imports nothing else of LobbyQ: the server builds a `TicketPrint` and hands it over.
"""

from __future__ import annotations

from printers.drivers import DummyPrinter, FilePrinter, NetworkPrinter, TicketPrinter, open_printer
from printers.escpos_render import ChineseMode, RenderOptions, render_escpos, render_ticket
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
from printers.layout import Line, layout_ticket
from printers.preview import preview_png
from printers.settings import PRINTER_KEYS, DriverKind, PrinterConfigError, PrinterSettings
from printers.spooler import Spooler, SpoolerClosed, UnknownPrinter
from printers.status import PaperLevel, PrinterError, PrinterState
from printers.ticket import TicketPrint, sample_ticket

__all__ = [
    "PRINTER_KEYS",
    "ChineseMode",
    "DriverKind",
    "DummyPrinter",
    "FilePrinter",
    "JobState",
    "Line",
    "NetworkPrinter",
    "PaperLevel",
    "PrintJob",
    "PrintJobFailed",
    "PrintJobPrinted",
    "PrinterConfigError",
    "PrinterError",
    "PrinterSettings",
    "PrinterState",
    "PrinterStateChanged",
    "PrinterStatus",
    "RenderOptions",
    "RetryPolicy",
    "Spooler",
    "SpoolerClosed",
    "SpoolerEvent",
    "TicketPrint",
    "TicketPrinter",
    "UnknownPrinter",
    "layout_ticket",
    "open_printer",
    "preview_png",
    "render_escpos",
    "render_ticket",
    "sample_ticket",
]
