"""Printer API: states for managers, a job's outcome for the kiosk that printed it, previews."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from kiosk.printing import render_options_of, ticket_print
from printers import TicketPrint, preview_png, sample_ticket
from server.api.deps import AnyPrincipal, Manager, StoreDep, base_url, check_branch
from server.devices.routes import LobbyStaff
from server.errors import Forbidden, InvalidInput, NotFound
from server.queue.lookup import ticket_by_token
from server.queue.tickets import place_of
from server.queue.today import Today
from server.store import Store

router = APIRouter(prefix="/api/v1", tags=["printers"])

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def _printer(store: Store, branch: str, printer_id: str) -> Any:
    settings = store.branch(branch)
    printer = next((p for p in settings.printers if p.id == printer_id), None)
    if printer is None:
        raise NotFound(f"no printer {printer_id!r} in branch {branch}", code="printer_not_found")
    return printer


@router.get("/branches/{branch}/printers")
def list_printers(branch: str, store: StoreDep, principal: AnyPrincipal) -> list[dict[str, Any]]:
    """Each printer's state: online, paper, error, last job, queue length.
    A kiosk sees its own printer only (to warn customers before they take a ticket)."""
    check_branch(principal, branch)
    settings = store.branch(branch)
    rows = store.ports.printing.printer_states(settings)
    if principal.kind == "kiosk":
        kiosk = next((k for k in settings.kiosks if k.id == principal.name), None)
        return [r for r in rows if kiosk is not None and r["id"] == kiosk.printer]
    if not principal.is_staff:
        raise Forbidden("staff and kiosks only", code="staff_only")
    return rows


@router.get("/branches/{branch}/printers/{printer_id}/jobs/{job_id}")
def get_job(
    branch: str, printer_id: str, job_id: str, store: StoreDep, principal: AnyPrincipal
) -> dict[str, Any]:
    """Did the kiosk's ticket print? `state`: queued, printing, printed or failed."""
    check_branch(principal, branch)
    if principal.kind in ("display", "counter"):
        raise Forbidden("kiosks and staff only", code="kiosk_or_staff_only")
    _printer(store, branch, printer_id)
    printing = store.ports.printing
    job = printing.job(branch, printer_id, job_id) if JOB_ID.match(job_id) else None
    if job is None:
        raise NotFound("no such print job (or it is long finished)", code="job_not_found")
    return job


@router.get(
    "/branches/{branch}/printers/{printer_id}/preview.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def preview(
    branch: str,
    printer_id: str,
    request: Request,
    store: StoreDep,
    principal: Manager,
    ticket: str | None = Query(default=None, max_length=64, description="a ticket's token"),
    width: int | None = Query(
        default=None, ge=384, le=832, description="dots; default: this printer's paper"
    ),
) -> Response:
    """The ticket as this printer would print it: a sample, or the ticket with this token."""
    del principal
    settings = store.branch(branch)
    paper = render_options_of(_printer(store, branch, printer_id)).paper
    value = _preview_ticket(store, settings, request, ticket)
    try:
        if width is None:
            png = preview_png(value, paper.width_px, columns=paper.columns)
        else:
            png = preview_png(value, width)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_preview") from exc
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def _preview_ticket(
    store: Store, settings: Any, request: Request, token: str | None
) -> TicketPrint:
    base = base_url(request, store)
    if token is None:
        sample = sample_ticket(store.now().astimezone(settings.zone))
        service = settings.services[0]
        footer = settings.ticket_footer
        return TicketPrint(
            branch_name_zh=settings.name.zh,
            branch_name_en=settings.name.en,
            number=f"{service.prefix}001",
            service_name_zh=service.name.zh,
            service_name_en=service.name.en,
            people_ahead=sample.people_ahead,
            estimated_wait_s=sample.estimated_wait_s,
            issued_at=sample.issued_at,
            track_url=f"{base}/t/sample",
            footer_zh=footer.zh if footer else "",
            footer_en=footer.en if footer else "",
        )
    with store.read() as session:
        row = ticket_by_token(session, token, branch=settings.code)
        if row is None:
            raise NotFound("no such ticket in this branch", code="ticket_not_found")
        place = place_of(session, row, Today.of(settings, store.now()))
        out = {
            "position": place.position
            if place.position is not None
            else row.people_ahead_at_issue or 0,
            "estimated_wait_s": place.estimated_wait_s
            if place.position is not None
            else row.estimated_wait_s,
            "estimated_wait_range_s": place.range_json,
        }
        return ticket_print(settings, row, out, track_url=f"{base}/t/{row.token}")


class PrintTicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket: str = Field(min_length=1, max_length=64, description="the ticket's token")


@router.post("/branches/{branch}/printers/{printer_id}/print", status_code=202)
def print_ticket(
    branch: str,
    printer_id: str,
    body: PrintTicketIn,
    request: Request,
    store: StoreDep,
    principal: LobbyStaff,
) -> dict[str, Any]:
    """The lobby manager prints a ticket issued for a customer at a printer chosen on
    the tablet. Printer trouble is the job's state, never an error of the request."""
    del principal
    settings = store.branch(branch)
    _printer(store, branch, printer_id)
    value = _preview_ticket(store, settings, request, body.ticket)
    return store.ports.printing.submit(settings.code, printer_id, value)
