"""Commands of this package, added to `lobbyq`: `print-test`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.printing import Printing, spool_key
from printers import Spooler, TicketPrint, sample_ticket


def register(app: typer.Typer, read_config: Callable[..., Any]) -> None:
    @app.command("print-test")
    def print_test(
        printer: Annotated[str, typer.Option("--printer", "-p", help="printer id from the config")],
        config: Annotated[
            Path | None, typer.Option("--config", "-c", help="TOML config (default: the demo)")
        ] = None,
        branch: Annotated[
            str | None, typer.Option("--branch", "-b", help="branch code (default: the first)")
        ] = None,
        wait_s: Annotated[float, typer.Option(help="how long to wait for the job")] = 30.0,
    ) -> None:
        """Print a sample ticket on one printer and say whether it printed."""
        settings = read_config(config)
        chosen = [
            b
            for b in settings.branches
            if (branch is None or b.code == branch) and any(p.id == printer for p in b.printers)
        ]
        if not chosen:
            typer.echo(f"no printer {printer!r} in the config", err=True)
            raise typer.Exit(2)
        outcome = run_print_test(chosen[0], printer, wait_s=wait_s)
        typer.echo(outcome.message)
        if not outcome.ok:
            raise typer.Exit(1)


class Outcome:
    def __init__(self, ok: bool, message: str) -> None:
        self.ok = ok
        self.message = message


def run_print_test(branch: Any, printer_id: str, *, wait_s: float = 30.0) -> Outcome:
    """Sample ticket with the branch's names and footer; waits for the spooler's verdict."""
    printing = Printing(Spooler(probe_interval_s=None))
    try:
        printing.add_branch(branch)
        key = spool_key(branch.code, printer_id)
        if key in printing.broken:
            return Outcome(False, f"printer {printer_id}: {printing.broken[key]}")
        sample = sample_ticket()
        footer = branch.ticket_footer
        ticket = TicketPrint(
            branch_name_zh=branch.name.zh,
            branch_name_en=branch.name.en,
            number=sample.number,
            service_name_zh=branch.services[0].name.zh,
            service_name_en=branch.services[0].name.en,
            people_ahead=sample.people_ahead,
            estimated_wait_s=sample.estimated_wait_s,
            issued_at=sample.issued_at,
            track_url=sample.track_url,
            priority_name_zh=sample.priority_name_zh,
            priority_name_en=sample.priority_name_en,
            footer_zh=footer.zh if footer else "",
            footer_en=footer.en if footer else "",
        )
        job_id = printing.spooler.submit(key, ticket)
        deadline = time.monotonic() + wait_s
        job = printing.spooler.job(job_id)
        while job is not None and not job.done and time.monotonic() < deadline:
            time.sleep(0.05)
            job = printing.spooler.job(job_id)
        status = printing.spooler.status(key)
        paper = f"paper {status.paper}"
        if job is None or not job.done:
            return Outcome(False, f"printer {printer_id}: no answer within {wait_s:g} s")
        if job.state == "printed":
            return Outcome(
                True,
                f"printer {printer_id}: printed sample ticket {job.ticket_number} "
                f"after {job.attempts} attempt(s); {paper}",
            )
        return Outcome(
            False,
            f"printer {printer_id}: FAILED after {job.attempts} attempt(s): {job.error}; {paper}",
        )
    finally:
        printing.close()
