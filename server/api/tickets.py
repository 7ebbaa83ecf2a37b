"""Branches, services, the queue, and tickets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlmodel import Session, select

from server.api.deps import AnyPrincipal, Manager, StoreDep, base_url, check_branch
from server.api.schemas import (
    BranchOut,
    NoticeIn,
    PublicTicket,
    QueueOut,
    ServiceOverview,
    ServiceStateIn,
    TicketCreate,
    TicketOut,
)
from server.api.views import ticket_out
from server.auth import Principal
from server.customer.appointments import Visit, issue_visit
from server.errors import Forbidden, NotFound
from server.events import EventType, NoticeUpdatedData, ServiceUpdatedData, record
from server.models import Branch, Counter, Service, Ticket
from server.public import iso
from server.queue.lookup import ticket_by_token
from server.queue.snapshot import queue_snapshot, services_overview
from server.queue.tickets import cancel_by_customer, place_of
from server.queue.today import Today
from server.store import Store

router = APIRouter(tags=["tickets"])


@router.get("/branches", response_model=list[BranchOut])
def list_branches(store: StoreDep) -> list[dict[str, Any]]:
    return [
        {"code": b.code, "name": b.name.model_dump(), "timezone": b.timezone}
        for b in store.config.branches
    ]


@router.get("/branches/{branch}/services", response_model=list[ServiceOverview])
def list_services(branch: str, store: StoreDep) -> list[dict[str, Any]]:
    settings = store.branch(branch)
    with store.read() as session:
        return services_overview(session, settings, store.now())


@router.get("/branches/{branch}/queue", response_model=QueueOut)
def get_queue(branch: str, store: StoreDep, principal: AnyPrincipal) -> dict[str, Any]:
    check_branch(principal, branch)
    if principal.kind == "kiosk":
        raise Forbidden("staff and displays only", code="staff_or_display_only")
    settings = store.branch(branch)
    with store.read() as session:
        return queue_snapshot(session, settings, store.now())


@router.post(
    "/branches/{branch}/tickets", status_code=status.HTTP_201_CREATED, response_model=TicketOut
)
async def create_ticket(
    branch: str, body: TicketCreate, request: Request, store: StoreDep, principal: AnyPrincipal
) -> JSONResponse:
    return await store.run(_create_ticket, branch, body, request, store, principal)


def _create_ticket(
    branch: str, body: TicketCreate, request: Request, store: Store, principal: Principal
) -> JSONResponse:
    check_branch(principal, branch)
    if principal.kind in ("display", "counter"):
        raise Forbidden("displays cannot issue tickets", code="kiosk_or_staff_only")
    settings = store.branch(branch)
    visit = Visit(
        service=body.service,
        priority=body.priority,
        customer_ref=body.customer_ref,
        appointment_code=body.appointment_code,
        lang=body.lang,
    )
    now = store.now()
    with store.write() as session:
        issued = issue_visit(
            session=session,
            branch=settings,
            visit=visit,
            by_kiosk=principal.kind == "kiosk",
            source=principal.name,
            now=now,
        )
    out = ticket_out(
        issued.ticket, issued.place, settings, base_url(request, store), notice=issued.notice
    )
    out.update(
        store.ports.ticket_issued(settings, issued.ticket, out, by=principal, print_it=body.print)
    )
    # TicketOut's fields, written directly: validating our own dict again through the
    # response model cost a tenth of an issue (bench/bench_core.py).
    return JSONResponse({name: out.get(name) for name in TicketOut.model_fields}, status_code=201)


def _ticket_by_token(session: Session, token: str) -> Ticket:
    ticket = ticket_by_token(session, token)
    if ticket is None:
        raise NotFound("no such ticket", code="ticket_not_found")
    return ticket


def public_ticket(store: Any, session: Any, ticket: Ticket) -> dict[str, Any]:
    settings = store.branch(ticket.branch)
    place = place_of(session, ticket, Today.of(settings, store.now()))
    service = settings.service(ticket.service)
    counter_name = None
    if ticket.counter:
        counter = session.exec(
            select(Counter).where(Counter.branch == ticket.branch, Counter.number == ticket.counter)
        ).first()
        if counter is not None:
            counter_name = {"zh": counter.name_zh, "en": counter.name_en}
    return {
        "number": ticket.number,
        "service": ticket.service,
        "service_name": service.name.model_dump()
        if service
        else {"zh": ticket.service, "en": ticket.service},
        "status": str(ticket.status),
        "position": place.position,
        "estimated_wait_s": place.estimated_wait_s,
        "estimated_wait_range_s": place.range_json,
        "counter": ticket.counter,
        "counter_name": counter_name,
        "issued_at": iso(ticket.issued_at),
        "called_at": iso(ticket.called_at),
        "rating": ticket.rating,
    }


@router.get("/tickets/{token}", response_model=PublicTicket)
def get_ticket(token: str, store: StoreDep) -> dict[str, Any]:
    with store.read() as session:
        return public_ticket(store, session, _ticket_by_token(session, token))


@router.delete("/tickets/{token}", response_model=PublicTicket)
def cancel_ticket(token: str, store: StoreDep) -> dict[str, Any]:
    with store.write() as session:
        ticket = _ticket_by_token(session, token)
        cancel_by_customer(
            session=session, branch=store.branch(ticket.branch), ticket=ticket, now=store.now()
        )
    with store.read() as session:
        return public_ticket(store, session, _ticket_by_token(session, token))


@router.put("/branches/{branch}/notice", response_model=NoticeUpdatedData)
def set_notice(branch: str, body: NoticeIn, store: StoreDep, principal: Manager) -> dict[str, str]:
    store.branch(branch)
    with store.write() as session:
        row = session.get(Branch, branch)
        assert row is not None
        row.notice_zh, row.notice_en = body.zh, body.en
        session.add(row)
        record(
            session,
            branch=branch,
            type=EventType.notice_updated,
            now=store.now(),
            teller=principal.name,
            data=NoticeUpdatedData(zh=body.zh, en=body.en),
        )
    return {"zh": body.zh, "en": body.en}


@router.put("/branches/{branch}/services/{service}/state", response_model=ServiceUpdatedData)
def set_service_state(
    branch: str, service: str, body: ServiceStateIn, store: StoreDep, principal: Manager
) -> dict[str, Any]:
    store.branch(branch)
    with store.write() as session:
        row = session.exec(
            select(Service).where(Service.branch == branch, Service.code == service)
        ).first()
        if row is None:
            raise NotFound(f"no service {service!r}", code="service_not_found")
        row.open = body.open
        session.add(row)
        record(
            session,
            branch=branch,
            type=EventType.service_updated,
            now=store.now(),
            teller=principal.name,
            data=ServiceUpdatedData(code=service, open=body.open),
        )
    return {"code": service, "open": body.open}
