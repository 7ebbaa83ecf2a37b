"""Small read endpoints the teller page needs: the counters of a branch (the
free-counter picker) and one counter's summary (current ticket, today's figures,
the waiting list in the order it would be called). Mounted at the root: API
routes carry /api/v1 themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session, col, select

from server.api.deps import Staff, StoreDep
from server.api.schemas import CounterListed, CounterSummaryOut
from server.config import BranchSettings
from server.errors import NotFound
from server.models import HELD, Branch, Counter, Ticket, TicketStatus, User, utc
from server.public import iso
from server.queue import ordering
from server.queue.counters import counter_data
from server.queue.line import as_waiting, waiting_tickets
from server.queue.today import Today

router = APIRouter(prefix="/api/v1", tags=["teller"])


# --- use-cases (plain functions, no HTTP) ------------------------------------------------


def display_names(session: Session) -> dict[str, str]:
    users = session.exec(select(User.username, User.display_name)).all()
    return {username: shown for username, shown in users if shown}


def _names(branch: BranchSettings, kind: str, code: str) -> dict[str, str]:
    if kind == "service":
        service = branch.service(code)
        if service is not None:
            return service.name.model_dump()
    else:
        priority = branch.priority(code)
        if priority is not None:
            return priority.shown_name()
    return {"zh": code, "en": code}


def counters_overview(session: Session, branch: BranchSettings) -> list[dict[str, Any]]:
    """Every counter of the branch with who holds it: the free-counter picker."""
    names = display_names(session)
    rows = session.exec(
        select(Counter).where(Counter.branch == branch.code).order_by(col(Counter.id))
    )
    out = []
    for row in rows:
        data = counter_data(session, row)
        data["teller_name"] = names.get(row.username or "", row.username)
        data["free"] = row.username is None
        out.append(data)
    return out


def _served_figures(tickets: list[Ticket]) -> dict[str, Any]:
    durations = []
    for ticket in tickets:
        started, finished = utc(ticket.started_at or ticket.called_at), utc(ticket.finished_at)
        if started is not None and finished is not None:
            durations.append(max(0.0, (finished - started).total_seconds()))
    average = round(sum(durations) / len(durations)) if durations else None
    return {"served": len(tickets), "service_avg_s": average}


def _current_ticket(
    session: Session, branch: BranchSettings, row: Counter, now: datetime
) -> dict[str, Any] | None:
    ticket = session.get(Ticket, row.current_ticket_id) if row.current_ticket_id else None
    if ticket is None or ticket.status not in HELD:
        return None
    called, enqueued = utc(ticket.called_at), utc(ticket.enqueued_at)
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "service_name": _names(branch, "service", ticket.service),
        "priority": ticket.priority,
        "priority_name": _names(branch, "priority", ticket.priority),
        "status": str(ticket.status),
        "issued_at": iso(ticket.issued_at),
        "enqueued_at": iso(ticket.enqueued_at),
        "called_at": iso(ticket.called_at),
        "started_at": iso(ticket.started_at),
        "recall_count": ticket.recall_count,
        "waited_s": round((called - enqueued).total_seconds()) if called and enqueued else None,
    }


def counter_waiting(session: Session, row: Counter, today: Today) -> list[dict[str, Any]]:
    """The tickets this counter may call, in the order it would call them."""
    branch, rules, now = today.branch, today.rules, today.now
    waiting = waiting_tickets(session, today)
    by_id = {t.id: t for t in waiting}
    chosen = ordering.choose_next(
        [as_waiting(t) for t in waiting],
        counter=row.number,
        services=row.services,
        consecutive_priority=row.consecutive_priority,
        rules=rules,
        now=now,
    )
    out = []
    for item in chosen:
        ticket = by_id[item.id]
        out.append(
            {
                "number": item.number,
                "service": item.service,
                "priority": item.priority,
                "priority_name": _names(branch, "priority", item.priority),
                "enqueued_at": iso(item.enqueued_at),
                "waited_s": max(0, round((now - item.enqueued_at).total_seconds())),
                "escalated": ordering.is_escalated(item, rules, now),
                "target_counter": item.target_counter,
                "recall_count": ticket.recall_count,
            }
        )
    return out


def counter_summary(
    session: Session, branch: BranchSettings, number: str, username: str, now: datetime
) -> dict[str, Any]:
    row = session.exec(
        select(Counter).where(Counter.branch == branch.code, Counter.number == number)
    ).first()
    if row is None:
        raise NotFound(f"no counter {number!r} in branch {branch.code}", code="counter_not_found")
    today = Today.of(branch, now)
    day = today.day
    completed = list(
        session.exec(
            select(Ticket).where(
                Ticket.branch == branch.code,
                Ticket.business_day == day,
                Ticket.status == TicketStatus.completed,
                col(Ticket.counter).is_not(None),
            )
        )
    )
    branch_row = session.get(Branch, branch.code)
    names = display_names(session)
    data = counter_data(session, row)
    data["teller_name"] = names.get(row.username or "", row.username)
    return {
        "seq": branch_row.event_seq if branch_row else 0,
        "now": now.isoformat(),
        "business_day": day.isoformat(),
        "counter": data,
        "state_since": iso(row.state_since),
        "mine": row.username == username,
        "you": {"username": username, "display_name": names.get(username, username)},
        "current": _current_ticket(session, branch, row, now),
        "today": {
            "counter": _served_figures([t for t in completed if t.counter == row.number]),
            "teller": _served_figures([t for t in completed if t.teller == username]),
        },
        "waiting": counter_waiting(session, row, today),
        "ratings_enabled": branch.ratings_enabled,
        "recalls_before_no_show": branch.recalls_before_no_show,
        "no_show_grace_min": branch.no_show_grace_min,
    }


# --- routes ------------------------------------------------------------------------------


@router.get("/branches/{branch}/counters", response_model=list[CounterListed])
def list_counters(branch: str, store: StoreDep, principal: Staff) -> list[dict[str, Any]]:
    """`[{number, name, state, username, teller_name, free, services, current}]`."""
    del principal
    settings = store.branch(branch)
    with store.read() as session:
        return counters_overview(session, settings)


@router.get("/branches/{branch}/counters/{counter}/summary", response_model=CounterSummaryOut)
def get_counter_summary(
    branch: str, counter: str, store: StoreDep, principal: Staff
) -> dict[str, Any]:
    """What the teller page shows: the counter, its current ticket, today's served
    count and average service time (this counter, and the signed-in teller), and the
    waiting list in call order."""
    settings = store.branch(branch)
    with store.read() as session:
        return counter_summary(session, settings, counter, principal.name, store.now())
