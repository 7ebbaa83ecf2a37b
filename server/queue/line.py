"""Today's waiting line: who is waiting, read as the rules need it, and the rules of a
branch built from its config."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.models import Ticket, TicketStatus, utc
from server.queue import ordering
from server.queue.calendar import business_day


def rules_for(branch: BranchSettings) -> ordering.Rules:
    priorities = branch.all_priorities()
    # Strict rank: the configured classes in order, most urgent first, normal last.
    listed = [p.code for p in priorities if p.code != "normal"]
    return ordering.Rules(
        mode=branch.ordering,
        weights={p.code: p.weight for p in priorities},
        ranks={code: rank for rank, code in enumerate([*listed, "normal"])},
        target_wait_s={s.code: s.target_wait_min * 60 for s in branch.services},
        max_consecutive_priority=branch.max_consecutive_priority,
    )


def as_waiting(ticket: Ticket) -> ordering.Waiting:
    enqueued = utc(ticket.enqueued_at)
    assert enqueued is not None and ticket.id is not None
    return ordering.Waiting(
        id=ticket.id,
        number=ticket.number,
        service=ticket.service,
        priority=ticket.priority,
        enqueued_at=enqueued,
        priority_from=utc(ticket.priority_from),
        target_counter=ticket.target_counter,
    )


def _waiting_where(
    branch: BranchSettings,
    now: datetime,
    service: str | None,
    counter: tuple[str, Sequence[str]] | None,
) -> list[Any]:
    """Today's waiting tickets; only one service's, or only those a counter may call."""
    where: list[Any] = [
        col(Ticket.branch) == branch.code,
        col(Ticket.status) == TicketStatus.waiting,
        col(Ticket.business_day) == business_day(branch, now),
    ]
    if service is not None:
        where.append(col(Ticket.service) == service)
    if counter is not None:
        number, services = counter
        where.append(or_(col(Ticket.service).in_(services), col(Ticket.target_counter) == number))
    return where


def waiting_tickets(
    session: Session,
    branch: BranchSettings,
    now: datetime,
    *,
    service: str | None = None,
    counter: tuple[str, Sequence[str]] | None = None,
) -> list[Ticket]:
    """Today's waiting tickets as rows (see _waiting_where for the filters)."""
    return list(session.exec(select(Ticket).where(*_waiting_where(branch, now, service, counter))))


def waiting_in_line(
    session: Session,
    branch: BranchSettings,
    now: datetime,
    *,
    service: str | None = None,
    counter: tuple[str, Sequence[str]] | None = None,
) -> list[ordering.Waiting]:
    """Like waiting_tickets, but only the columns the rules read: on the hot paths
    (issue, call-next) building full ORM rows for a long queue cost more than the
    rest of the request."""
    query = sa_select(
        col(Ticket.id),
        col(Ticket.number),
        col(Ticket.service),
        col(Ticket.priority),
        col(Ticket.enqueued_at),
        col(Ticket.priority_from),
        col(Ticket.target_counter),
    ).where(*_waiting_where(branch, now, service, counter))
    return [
        ordering.Waiting(
            id=id_,
            number=num,
            service=svc,
            priority=prio,
            enqueued_at=enq,
            priority_from=prio_from,
            target_counter=target,
        )
        for id_, num, svc, prio, enq, prio_from, target in session.execute(query).all()
    ]
