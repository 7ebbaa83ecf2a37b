"""The lobby manager's tablet (大堂经理): today's appointments with who has arrived
and who is late, the VIP and priority arrivals, the longest waits per service, and
moving a waiting ticket to another service with its place kept. Issuing a ticket
for a customer is the API's own `POST /tickets` (the kiosk's use-case, rules and
all); nothing of it is repeated here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.customer.appointments import list_day
from server.errors import Conflict, InvalidInput
from server.events import EventType, record
from server.models import HELD, Ticket, TicketStatus, utc
from server.public import iso
from server.queue.line import waiting_in_line
from server.queue.tickets import find_ticket_by_number, ticket_data
from server.queue.today import Today

ARRIVALS_SHOWN = 30


def appointments_today(session: Session, today: Today) -> list[dict[str, Any]]:
    """Today's appointments: `arrived` (checked in, with the ticket), `late` (past the
    late window, not arrived), `due` (within the early window) or `later`."""
    branch, now = today.branch, today.now
    rows = list_day(session=session, branch=branch, day=today.local.date())
    ids = [a.ticket_id for a in rows if a.ticket_id is not None]
    numbers = (
        dict(session.exec(select(Ticket.id, Ticket.number).where(col(Ticket.id).in_(ids))).all())
        if ids
        else {}
    )
    out = []
    for appointment in rows:
        if appointment.status == "cancelled":
            continue
        at = utc(appointment.at)
        assert at is not None
        if appointment.status == "checked_in":
            state = "arrived"
        elif now > at + timedelta(minutes=branch.appointment_late_min):
            state = "late"
        elif now >= at - timedelta(minutes=branch.appointment_early_min):
            state = "due"
        else:
            state = "later"
        out.append(
            {
                "code": appointment.code,
                "at": at.astimezone(branch.zone).isoformat(),
                "service": appointment.service,
                "customer_name": appointment.customer_name,
                "state": state,
                "number": numbers.get(appointment.ticket_id) if appointment.ticket_id else None,
            }
        )
    return out


_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_ARRIVAL_COLUMNS = (
    _TICKET.c.id,
    _TICKET.c.number,
    _TICKET.c.service,
    _TICKET.c.priority,
    _TICKET.c.status,
    _TICKET.c.counter,
    _TICKET.c.issued_at,
)


def priority_arrivals(session: Session, today: Today) -> list[dict[str, Any]]:
    """Today's VIP, appointment and other priority tickets, newest first (plain
    columns: every event of the branch refreshes the tablet)."""
    rows = session.execute(
        sa_select(*_ARRIVAL_COLUMNS)
        .where(
            _TICKET.c.branch == today.branch.code,
            _TICKET.c.business_day == today.day,
            _TICKET.c.priority != "normal",
        )
        .order_by(_TICKET.c.issued_at.desc(), _TICKET.c.id.desc())
        .limit(ARRIVALS_SHOWN)
    ).all()
    return [
        {
            "id": id_,
            "number": number,
            "service": service,
            "priority": priority,
            "status": str(status),
            "counter": counter,
            "issued_at": iso(issued_at),
        }
        for id_, number, service, priority, status, counter, issued_at in rows
    ]


def longest_waits(session: Session, today: Today) -> list[dict[str, Any]]:
    """Per service: how many wait and the three who have waited longest."""
    branch, now = today.branch, today.now
    waiting = waiting_in_line(session, today)
    out = []
    for service in branch.services:
        mine = sorted(
            (t for t in waiting if t.service == service.code),
            key=lambda t: (utc(t.enqueued_at) or now, t.id),
        )
        out.append(
            {
                "service": service.code,
                "name": service.name.model_dump(),
                "target_wait_s": round(service.target_wait_min * 60),
                "waiting": len(mine),
                "longest": [
                    {
                        "number": t.number,
                        "priority": t.priority,
                        "enqueued_at": iso(t.enqueued_at),
                        "waited_s": round((now - (utc(t.enqueued_at) or now)).total_seconds()),
                    }
                    for t in mine[:3]
                ],
            }
        )
    return out


def lobby_overview(session: Session, branch: BranchSettings, now: datetime) -> dict[str, Any]:
    """The tablet's use-case: the day's context worked out once, at `now`."""
    today = Today.of(branch, now)
    return {
        "now": now.isoformat(),
        "appointments": appointments_today(session, today),
        "arrivals": priority_arrivals(session, today),
        "waits": longest_waits(session, today),
    }


def move_waiting(
    *,
    session: Session,
    branch: BranchSettings,
    number: str,
    to_service: str,
    username: str,
    now: datetime,
) -> Ticket:
    """A waiting ticket goes to another service's line, keeping its place (its
    enqueued_at); published as `ticket.transferred` like a teller's transfer."""
    if branch.service(to_service) is None:
        raise InvalidInput(f"unknown service {to_service!r}", code="unknown_service")
    ticket = find_ticket_by_number(session, Today.of(branch, now), number)
    if ticket.status in HELD or ticket.status != TicketStatus.waiting:
        raise Conflict(
            f"{ticket.number} is {ticket.status}; only a waiting ticket can be moved",
            code="not_waiting",
        )
    if ticket.service == to_service and ticket.target_counter is None:
        raise InvalidInput(f"{ticket.number} already waits for {to_service}", code="same_service")
    from_service = ticket.service
    ticket.service = to_service
    ticket.target_counter = None
    session.add(ticket)
    session.flush()
    record(
        session,
        branch=branch.code,
        type=EventType.ticket_transferred,
        now=now,
        ticket_id=ticket.id,
        teller=username,
        data=ticket_data(
            ticket,
            EventType.ticket_transferred,
            from_service=from_service,
            from_counter=None,
            to_service=to_service,
            to_counter=None,
            keep_place=True,
            teller=username,
            by="lobby",
        ),
    )
    return ticket
