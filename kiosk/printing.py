"""Ticket printing for the kiosks: one spooler per server, the server's `Printing` port.

The spooler (printers/) prints beside the request: the port only builds a `TicketPrint` and
queues it, so a dead printer never delays or fails the ticket. The kiosk learns whether its
job printed from the job endpoint and shows the ticket on screen when it did not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from printers import (
    PrinterConfigError,
    PrinterStatus,
    PrintJob,
    RenderOptions,
    Spooler,
    SpoolerClosed,
    TicketPrint,
    UnknownPrinter,
)
from printers import PrinterSettings as DriverSettings
from server.auth import Principal
from server.config import BranchSettings, PrinterSettings
from server.models import Ticket, utc
from server.public import iso
from server.store import Store

log = logging.getLogger(__name__)

# Job states as the kiosk sees them; "failed" and "no_printer" mean: show the ticket on screen.
NO_PRINTER = "no_printer"


def spool_key(branch: str, printer_id: str) -> str:
    """Printer ids are unique per branch only; the spooler needs one name per printer."""
    return f"{branch}/{printer_id}"


def driver_mapping(settings: PrinterSettings) -> dict[str, Any]:
    """The config's `[[branches.printers]]` table as printers/ reads it."""
    raw: dict[str, Any] = {
        "id": settings.id,
        "driver": settings.driver,
        "host": settings.host,
        "port": settings.port,
        "device": settings.device,
        "serial_port": settings.serial_port,
        "baudrate": settings.baudrate,
        "profile": settings.profile,
        "chinese_mode": settings.chinese_mode,
        "timeout_s": float(settings.timeout_s),
        "status_check": settings.status_check,
        "width_dots": settings.width_dots,
        "columns": settings.columns,
        "chinese_charset": settings.chinese_charset,
        "chinese_code_system": settings.chinese_code_system,
    }
    if settings.vendor_id or settings.product_id:
        raw["vendor_id"] = settings.vendor_id
        raw["product_id"] = settings.product_id
    return raw


def render_options_of(settings: PrinterSettings) -> RenderOptions:
    """How this printer's tickets are rendered: paper, Chinese mode (checked at config load)."""
    return DriverSettings.from_mapping(driver_mapping(settings)).render_options


@dataclass
class Printing:
    """The server's printers: the spooler, and printers whose config could not be opened."""

    spooler: Spooler
    broken: dict[str, str] = field(default_factory=dict)  # spool key -> why it is not there

    def add_branch(self, branch: BranchSettings) -> None:
        for printer in branch.printers:
            key = spool_key(branch.code, printer.id)
            try:
                settings = DriverSettings.from_mapping({**driver_mapping(printer), "id": key})
                self.spooler.add_from_settings(settings)
            except (PrinterConfigError, OSError, ValueError) as exc:
                log.error("printer %s of branch %s: %s", printer.id, branch.code, exc)
                self.broken[key] = str(exc)

    def submit(self, branch: str, printer_id: str, ticket: TicketPrint) -> dict[str, Any]:
        """Queue a ticket; never raises: printer trouble is reported in the result."""
        key = spool_key(branch, printer_id)
        try:
            job_id = self.spooler.submit(key, ticket)
        except (UnknownPrinter, SpoolerClosed) as exc:
            reason = self.broken.get(key) or f"printer unavailable ({type(exc).__name__})"
            return {"printer": printer_id, "job": None, "state": "failed", "error": reason}
        job = self.spooler.job(job_id)
        return {
            "printer": printer_id,
            "job": job_id,
            "state": str(job.state) if job else "queued",
        }

    def job(self, branch: str, printer_id: str, job_id: str) -> PrintJob | None:
        job = self.spooler.job(job_id)
        if job is None or job.printer_id != spool_key(branch, printer_id):
            return None
        return job

    def printer_states(self, branch: BranchSettings) -> list[dict[str, Any]]:
        statuses = self.spooler.statuses()
        rows = []
        for printer in branch.printers:
            key = spool_key(branch.code, printer.id)
            status = statuses.get(key)
            rows.append(printer_row(printer, status, self.broken.get(key)))
        return rows

    def close(self) -> None:
        # A job being printed gets 1.5 s to finish (a ticket takes well under that),
        # then is marked failed: the server must be gone within 5 s of SIGTERM.
        self.spooler.close(timeout_s=1.5)


def printer_row(
    printer: PrinterSettings, status: PrinterStatus | None, broken: str | None
) -> dict[str, Any]:
    if status is None:
        return {
            "id": printer.id,
            "driver": printer.driver,
            "online": False,
            "paper": "unknown",
            "error": broken or "not configured",
            "state": "offline",
            "last_job_at": None,
            "last_job_ok": None,
            "queue_length": 0,
        }
    return {
        "id": printer.id,
        "driver": printer.driver,
        "online": status.online,
        "paper": str(status.paper),
        "error": status.error,
        "state": summary_state(status),
        "last_job_at": iso(status.last_job_at),
        "last_job_ok": status.last_job_ok,
        "queue_length": status.queue_length,
    }


def summary_state(status: PrinterStatus) -> str:
    """One word for a manager (the /metrics vocabulary): ok, busy, paper_low, paper_out,
    offline (not reachable), error (reachable but cannot print), unknown (not asked yet)."""
    if status.paper == "out":
        return "paper_out"
    if status.online is False:
        # A printer that answered its paper sensor is there but stuck (cover open, cutter...).
        return "offline" if status.paper == "unknown" else "error"
    if status.online is None:
        return "error" if status.error and status.last_job_ok is False else "unknown"
    if status.paper == "low":
        return "paper_low"
    return "busy" if status.queue_length else "ok"


def job_row(printer_id: str, job: PrintJob) -> dict[str, Any]:
    return {
        "printer": printer_id,
        "job": job.job_id,
        "number": job.ticket_number,
        "state": str(job.state),
        "done": job.done,
        "attempts": job.attempts,
        "error": job.error,
        "submitted_at": iso(job.submitted_at),
        "finished_at": iso(job.finished_at),
    }


def ticket_print(
    branch: BranchSettings, ticket: Ticket, out: dict[str, Any], track_url: str | None = None
) -> TicketPrint:
    """The ticket as printed: names resolved, time in the branch's own timezone."""
    service = branch.service(ticket.service)
    priority = next((p for p in branch.all_priorities() if p.code == ticket.priority), None)
    priority_name = priority.name if priority and priority.code != "normal" else None
    issued = utc(ticket.issued_at)
    assert issued is not None
    position = out.get("position")
    wait = out.get("estimated_wait_s")
    footer = branch.ticket_footer
    return TicketPrint(
        branch_name_zh=branch.name.zh,
        branch_name_en=branch.name.en,
        number=ticket.number,
        service_name_zh=service.name.zh if service else ticket.service,
        service_name_en=service.name.en if service else ticket.service,
        people_ahead=max(0, int(position)) if isinstance(position, int) else 0,
        estimated_wait_s=max(0, int(wait)) if isinstance(wait, int | float) else None,
        issued_at=issued.astimezone(branch.zone),
        track_url=track_url or str(out.get("track_url") or ""),
        priority_name_zh=priority_name.zh if priority_name else None,
        priority_name_en=priority_name.en if priority_name else None,
        footer_zh=footer.zh if footer else "",
        footer_en=footer.en if footer else "",
        estimated_wait_range_s=_range(out.get("estimated_wait_range_s")),
    )


def _range(value: Any) -> tuple[int, int] | None:
    """`estimated_wait_range_s` of a ticket as the printer takes it (None if absent)."""
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = (max(0, int(v)) for v in value)
        return (low, max(low, high))
    return None


# -- the server's Printing port (server/ports.py) ------------------------------------------


class PrinterPort:
    """The kiosks' printers as the server's `Printing` port: built once by create_app."""

    def __init__(self, store: Store, printing: Printing | None = None) -> None:
        self._store = store
        self.printing = printing or Printing(Spooler())
        for branch in store.config.branches:
            self.printing.add_branch(branch)

    def ticket_issued(
        self,
        branch: BranchSettings,
        ticket: Ticket,
        out: dict[str, Any],
        print_it: bool,
        principal: Principal,
    ) -> dict[str, Any] | None:
        if principal.kind != "kiosk" or not print_it:
            return None
        kiosk = next((k for k in branch.kiosks if k.id == principal.name), None)
        if kiosk is None or not kiosk.printer:
            return {"print": {"printer": None, "job": None, "state": NO_PRINTER}}
        try:
            value = ticket_print(branch, ticket, out)
        except ValueError as exc:  # a ticket the printer cannot take must not fail the issue
            log.error("ticket %s cannot be printed: %s", ticket.number, exc)
            return {"print": {"printer": kiosk.printer, "job": None, "state": "failed"}}
        return {"print": self.printing.submit(branch.code, kiosk.printer, value)}

    def printer_states(self, branch: BranchSettings) -> list[dict[str, Any]]:
        return self.printing.printer_states(branch)

    def job(self, branch: str, printer_id: str, job_id: str) -> dict[str, Any] | None:
        job = self.printing.job(branch, printer_id, job_id)
        return None if job is None else job_row(printer_id, job)

    def submit(self, branch: str, printer_id: str, ticket: TicketPrint) -> dict[str, Any]:
        return self.printing.submit(branch, printer_id, ticket)

    def health(self) -> dict[str, Any] | None:
        branches = self._store.config.branches
        return {b.code: self.printing.printer_states(b) for b in branches if b.printers}

    def metrics(self, registry: Any) -> None:
        printer_metrics(self._store, self.printing, registry)

    def close(self) -> None:
        self.printing.close()


def printer_metrics(store: Store, printing: Printing, registry: Any) -> None:
    """Paper and queue per printer (online and state come from the health probe, in core)."""
    from prometheus_client import Gauge

    labels = ["branch", "printer"]
    paper = Gauge(
        "lobbyq_printer_paper_ok",
        "1 when the paper is ok or low, 0 when out or unknown",
        labels,
        registry=registry,
    )
    queued = Gauge(
        "lobbyq_printer_queue_length", "Print jobs not finished", labels, registry=registry
    )
    for branch in store.config.branches:
        for row in printing.printer_states(branch):
            paper.labels(branch.code, row["id"]).set(1 if row["paper"] in ("ok", "low") else 0)
            queued.labels(branch.code, row["id"]).set(row["queue_length"])
