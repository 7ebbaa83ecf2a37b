"""The estimated wait: the open counters played forward through the waiting line
(docs/statistics.md, "The estimate")."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from server.config import BranchSettings, ServiceSettings
from server.models import HELD, Counter, CounterState, Ticket, TicketStatus, utc
from server.queue import ordering
from server.queue.line import rules_for, waiting_in_line


def recent_service_time_s(
    session: Session, branch: BranchSettings, service: ServiceSettings
) -> float:
    """Rolling mean of call-to-finish time over the last completed tickets."""
    rows = session.exec(
        select(Ticket.called_at, Ticket.finished_at)
        .where(
            Ticket.branch == branch.code,
            Ticket.service == service.code,
            Ticket.status == TicketStatus.completed,
        )
        .order_by(col(Ticket.finished_at).desc())
        .limit(branch.service_time_window)
    ).all()
    durations = [
        (finished - called).total_seconds() for called, finished in rows if called and finished
    ]
    if not durations:
        return service.service_time_min * 60
    return sum(durations) / len(durations)


def counters_serving(session: Session, branch: BranchSettings, service: str) -> int:
    """Open counters that serve the service; before any opens, the configured ones."""
    counters = list(session.exec(select(Counter).where(Counter.branch == branch.code)))
    serving = [c for c in counters if service in c.services]
    open_now = [c for c in serving if c.state == CounterState.open]
    return len(open_now) or len(serving) or 1


# The forward play below reorders the line at most this often (simulated seconds)
# and this many times, and is skipped for longer lines, so that an estimate stays
# cheap however long the queue (a branch never has that many waiting).
REORDER_EVERY_S = 60.0
MAX_REORDERS = 30
MAX_PLAYED = 1000


def estimate_wait_s(
    session: Session,
    branch: BranchSettings,
    service: ServiceSettings,
    ahead: int,
    *,
    ticket: ordering.Waiting | None = None,
    now: datetime | None = None,
) -> int:
    """Without `now`: people ahead x recent service time / counters serving. With
    `now`: the open counters are played forward, each taking the next ticket it may
    call in the order of the rules at that moment and holding it for its service's
    recent mean time, until one takes `ticket` (None: a new ticket of `service`).
    Playing it forward counts what the plain division misses: counters shared with
    other services, a counter busy with a customer, priority tickets overtaking."""
    counters = list(session.exec(select(Counter).where(Counter.branch == branch.code)))
    open_now = [c for c in counters if c.state == CounterState.open]
    if now is None or not any(service.code in c.services for c in open_now):
        per_customer = recent_service_time_s(session, branch, service)
        return round(ahead * per_customer / counters_serving(session, branch, service.code))
    rules = rules_for(branch)
    line = [w for w in waiting_in_line(session, branch, now) if ticket is None or w.id != ticket.id]
    if len(line) > MAX_PLAYED:
        per_customer = recent_service_time_s(session, branch, service)
        return round(ahead * per_customer / counters_serving(session, branch, service.code))
    me = ticket or ordering.Waiting(
        id=-1, number="", service=service.code, priority=ordering.NORMAL, enqueued_at=now
    )
    line.append(me)
    means: dict[str, float] = {}

    def mean(code: str) -> float:
        if code not in means:
            settings = branch.service(code)
            means[code] = recent_service_time_s(session, branch, settings or service)
        return means[code]

    free_at: dict[str, float] = {}
    for c in open_now:
        held = session.get(Ticket, c.current_ticket_id) if c.current_ticket_id else None
        called = utc(held.called_at) if held is not None and held.status in HELD else None
        if held is not None and called is not None:
            busy = (now - called).total_seconds()
            free_at[c.number] = max(mean(held.service) - busy, mean(held.service) / 4)
        else:
            free_at[c.number] = 0.0
    services = {c.number: list(c.services) for c in open_now}
    ordered_at, reorders = -math.inf, 0
    while free_at:
        number = min(free_at, key=lambda n: (free_at[n], n))
        if free_at[number] - ordered_at >= REORDER_EVERY_S and reorders < MAX_REORDERS:
            # The order as it will be then: weighted scores grow while people wait.
            ordered_at, reorders = free_at[number], reorders + 1
            line = ordering.in_order(line, rules, now + timedelta(seconds=ordered_at))
        index = next(
            (i for i, w in enumerate(line) if ordering.callable_by(w, number, services[number])),
            None,
        )
        if index is None:
            del free_at[number]  # nothing left that this counter may call
            continue
        if line[index] is me:
            return round(free_at[number])
        free_at[number] += mean(line.pop(index).service)
    return round(ahead * mean(service.code) / max(1, len(services)))
