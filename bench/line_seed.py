"""A long waiting line, written fast: the call-next benchmark's 5,000 waiting tickets.

Issuing them one by one through the server takes half a minute on a loaded 2-core
machine and would be topped up before every row; here the rows go in with a few
multi-row statements, as `issue_ticket` would have written them: the day's numbers
taken from the daily sequence, a token each, one `ticket.issued` event each (numbered
after the branch's last event, so the statistics' log folds them like any other).
What differs: no promise (`estimated_wait_s` is empty, as for a branch with no
history) and no event on the hub (nothing listens before the row starts)."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server.config import BranchSettings
from server.db import Database, connection_of
from server.events import EventType
from server.models import Branch, DailySequence, Ticket, TicketEvent, TicketStatus, as_utc
from server.queue.calendar import business_day
from server.queue.tickets import ticket_data

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_SEQ = DailySequence.__table__  # type: ignore[attr-defined]
_BRANCH = Branch.__table__  # type: ignore[attr-defined]


def _take_numbers(connection: Any, branch: str, service: str, day: Any, count: int) -> int:
    """Reserve `count` numbers of the day; the first one."""
    maker = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        maker(_SEQ)
        .values(branch=branch, service=service, business_day=day, last=count)
        .on_conflict_do_update(
            index_elements=["branch", "service", "business_day"],
            set_={"last": _SEQ.c.last + count},
        )
        .returning(_SEQ.c.last)
    )
    return int(connection.execute(statement).scalar_one()) - count + 1


def waiting_count(db: Database, branch: BranchSettings, now: datetime) -> int:
    with db.read() as session:
        query = (
            select(func.count())
            .select_from(_TICKET)
            .where(
                _TICKET.c.branch == branch.code,
                _TICKET.c.status == TicketStatus.waiting,
                _TICKET.c.business_day == business_day(branch, now),
            )
        )
        return int(session.execute(query).scalar_one())


def top_up(
    db: Database,
    branch: BranchSettings,
    waiting: int,
    now: datetime,
    *,
    seed: int = 1,
    shares: dict[str, float] | None = None,
    transferred_share: float = 0.01,
    spread_min: float = 40,
) -> int:
    """Add waiting tickets until `waiting` wait in `branch` today; how many were added.
    They were enqueued over the last `spread_min` minutes in number order, across all
    services, each class its share (default: 10% of the branch's first class after
    normal), a few sent to one counter (a transfer), and appointments whose priority
    window opens anywhere from 5 minutes ago to 10 minutes ahead: the mix the ordering
    rules sort."""
    need = waiting - waiting_count(db, branch, now)
    if need <= 0:
        return 0
    rng = random.Random(seed)
    day = business_day(branch, now)
    normal, *others = branch.all_priorities()
    shares = shares if shares is not None else {p.code: 0.1 for p in others[:1]}
    classes = [(p, shares[p.code]) for p in others if p.code in shares]
    counters = [c.number for c in branch.counters]
    services = branch.services
    with db.write() as session:
        connection = connection_of(session)
        # Ticket i is of service i % len(services).
        per_service = {s.code: len(range(i, need, len(services))) for i, s in enumerate(services)}
        first = {
            code: _take_numbers(connection, branch.code, code, day, count)
            for code, count in per_service.items()
            if count
        }
        tickets = []
        for index in range(need):
            settings = services[index % len(services)]
            seq = first[settings.code] + index // len(services)
            draw, priority = rng.random(), normal
            for settings_of_class, share in classes:
                if draw < share:
                    priority = settings_of_class
                    break
                draw -= share
            opens = None
            if priority.code == "appointment":
                opens = as_utc(now + timedelta(minutes=rng.uniform(-5, 10)))
            enqueued = now - timedelta(minutes=spread_min * (1 - index / need))
            target = rng.choice(counters) if rng.random() < transferred_share else None
            tickets.append(
                Ticket(
                    token=secrets.token_urlsafe(18),
                    branch=branch.code,
                    business_day=day,
                    service_seq_key=settings.code,
                    seq=seq,
                    number=f"{priority.prefix}{settings.prefix}{seq:03d}",
                    service=settings.code,
                    priority=priority.code,
                    priority_from=opens,
                    issued_at=as_utc(enqueued),
                    enqueued_at=as_utc(enqueued),
                    target_counter=target,
                    source="bench",
                )
            )
        columns = [c.name for c in _TICKET.columns if c.name != "id"]
        rows = [{name: getattr(t, name) for name in columns} for t in tickets]
        ids = connection.execute(
            insert(_TICKET).returning(_TICKET.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        for ticket, id_ in zip(tickets, ids, strict=True):
            ticket.id = id_
        last = connection.execute(
            update(_BRANCH)
            .where(_BRANCH.c.code == branch.code)
            .values(event_seq=_BRANCH.c.event_seq + need)
            .returning(_BRANCH.c.event_seq)
        ).scalar_one()
        events = [
            {
                "branch": branch.code,
                "seq": last - need + 1 + index,
                "type": str(EventType.ticket_issued),
                "ticket_id": ticket.id,
                "counter": None,
                "teller": None,
                "at": ticket.issued_at,
                "data": ticket_data(
                    ticket,
                    EventType.ticket_issued,
                    position=None,
                    estimated_wait_s=None,
                    estimated_wait_range_s=None,
                    estimate_raw_s=None,
                    appointment=None,
                ).wire(),
            }
            for index, ticket in enumerate(tickets)
        ]
        connection.execute(insert(_EVENT), events)
    return need
