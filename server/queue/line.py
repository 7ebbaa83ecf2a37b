"""Today's waiting line: who is waiting, read as the rules need it, and the rules of a
branch built from its config."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.db import connection_of
from server.models import Ticket, TicketStatus, utc
from server.queue import ordering

if TYPE_CHECKING:
    from server.queue.today import Today


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
    """The rules' view of a ticket, written or not (one being issued has no id yet)."""
    enqueued = utc(ticket.enqueued_at)
    assert enqueued is not None
    return ordering.Waiting(
        id=ticket.id if ticket.id is not None else -1,
        number=ticket.number,
        service=ticket.service,
        priority=ticket.priority,
        enqueued_at=enqueued,
        priority_from=utc(ticket.priority_from),
        target_counter=ticket.target_counter,
    )


def _waiting_where(
    today: Today,
    service: str | None,
    counter: tuple[str, Sequence[str]] | None,
) -> list[Any]:
    """Today's waiting tickets; only one service's, or only those a counter may call."""
    where: list[Any] = [
        col(Ticket.branch) == today.branch.code,
        col(Ticket.status) == TicketStatus.waiting,
        col(Ticket.business_day) == today.day,
    ]
    if service is not None:
        where.append(col(Ticket.service) == service)
    if counter is not None:
        number, services = counter
        where.append(or_(col(Ticket.service).in_(services), col(Ticket.target_counter) == number))
    return where


def waiting_tickets(
    session: Session,
    today: Today,
    *,
    service: str | None = None,
    counter: tuple[str, Sequence[str]] | None = None,
) -> list[Ticket]:
    """Today's waiting tickets as rows (see _waiting_where for the filters)."""
    return list(session.exec(select(Ticket).where(*_waiting_where(today, service, counter))))


_TICKET = Ticket.__table__  # type: ignore[attr-defined]
# What the rules read of a waiting ticket, in ordering.Waiting's order.
LINE_COLUMNS = (
    _TICKET.c.id,
    _TICKET.c.number,
    _TICKET.c.service,
    _TICKET.c.priority,
    _TICKET.c.enqueued_at,
    _TICKET.c.priority_from,
    _TICKET.c.target_counter,
)


def as_waiting_rows(rows: Iterable[Any]) -> list[ordering.Waiting]:
    """Rows of LINE_COLUMNS as the rules' Waiting values."""
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
        for id_, num, svc, prio, enq, prio_from, target in rows
    ]


def waiting_in_line(
    session: Session,
    today: Today,
    *,
    service: str | None = None,
    counter: tuple[str, Sequence[str]] | None = None,
) -> list[ordering.Waiting]:
    """Like waiting_tickets, but only the columns the rules read: on the hot paths
    (issue, call-next) building full ORM rows for a long queue cost more than the
    rest of the request."""
    query = sa_select(*LINE_COLUMNS).where(*_waiting_where(today, service, counter))
    return as_waiting_rows(session.execute(query).all())


# The first tickets of each group a counter may call are enough to choose from: within
# one (service, class, not transferred) group every rule orders by enqueued_at then
# number (the weighted score grows with the wait at the group's one weight, escalation
# takes the oldest first, strict is FIFO). Appointments can rank as normal for a while
# (priority_from), so their groups are read whole; so are tickets sent to the counter.
HEADS_PER_GROUP = 10
_heads: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def _heads_statement(services: tuple[str, ...], priorities: tuple[str, ...]) -> Any:
    statement = _heads.get((services, priorities))
    if statement is not None:
        return statement
    today = [
        _TICKET.c.branch == bindparam("branch"),
        _TICKET.c.status == TicketStatus.waiting,
        _TICKET.c.business_day == bindparam("day"),
    ]
    parts = []
    for service in services:
        for priority in priorities:
            part = (
                sa_select(*LINE_COLUMNS)
                .where(*today, _TICKET.c.service == service, _TICKET.c.priority == priority)
                .where(_TICKET.c.target_counter.is_(None))
                .order_by(_TICKET.c.enqueued_at, _TICKET.c.number)
            )
            if priority != "appointment":
                part = part.limit(HEADS_PER_GROUP)
            parts.append(sa_select(part.subquery()))
    parts.append(
        sa_select(*LINE_COLUMNS).where(*today, _TICKET.c.target_counter == bindparam("counter"))
    )
    statement = _heads[(services, priorities)] = union_all(*parts)
    return statement


def heads_of_line(
    session: Session,
    today: Today,
    *,
    counter: str,
    services: Sequence[str],
) -> list[ordering.Waiting]:
    """The waiting tickets a counter might call next: the first HEADS_PER_GROUP of
    each group (see above). Call-next reads these instead of the whole line, so its
    cost does not grow with the length of the queue."""
    priorities = tuple(p.code for p in today.branch.all_priorities())
    statement = _heads_statement(tuple(services), priorities)
    params = {"branch": today.branch.code, "day": today.day, "counter": counter}
    return as_waiting_rows(connection_of(session).execute(statement, params))
