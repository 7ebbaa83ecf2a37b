"""The live state of one branch, as the display, the teller page and the
`GET /queue` endpoint see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.config import BranchSettings, ServiceSettings
from server.events import EventType, TicketCalled, TicketRecalled, stored_event
from server.models import Branch, Counter, Service, TicketEvent, as_utc
from server.public import iso
from server.queue import ordering
from server.queue.counters import counter_data
from server.queue.line import as_waiting, waiting_tickets
from server.queue.today import Today
from server.queue.wait_range import estimate_with_range

RECENT_CALLS = 10


def queue_snapshot(session: Session, branch: BranchSettings, now: datetime) -> dict[str, Any]:
    row = session.get(Branch, branch.code)
    assert row is not None
    today = Today.of(branch, now)
    waiting = waiting_tickets(session, today)
    ordered = ordering.in_order([as_waiting(t) for t in waiting], today.rules, now)
    by_id = {t.id: t for t in waiting}
    services_open = {
        s.code: s.open for s in session.exec(select(Service).where(Service.branch == branch.code))
    }
    services = []
    for settings in branch.services:
        mine = [by_id[w.id] for w in ordered if w.service == settings.code]
        services.append(
            {
                "code": settings.code,
                "prefix": settings.prefix,
                "name": settings.name.model_dump(),
                "open": services_open.get(settings.code, settings.open),
                "target_wait_s": round(settings.target_wait_min * 60),
                "waiting": [
                    {
                        "number": t.number,
                        "priority": t.priority,
                        "enqueued_at": iso(t.enqueued_at),
                        "target_counter": t.target_counter,
                    }
                    for t in mine
                ],
            }
        )
    counters = list(
        session.exec(select(Counter).where(Counter.branch == branch.code).order_by(col(Counter.id)))
    )
    calls = session.exec(
        select(TicketEvent)
        .where(
            TicketEvent.branch == branch.code,
            col(TicketEvent.type).in_([EventType.ticket_called, EventType.ticket_recalled]),
            col(TicketEvent.at) >= as_utc(today.starts),  # today's calls only
        )
        .order_by(col(TicketEvent.seq).desc())
        .limit(RECENT_CALLS)
    ).all()
    return {
        "seq": row.event_seq,
        "branch": {"code": branch.code, "name": branch.name.model_dump()},
        "notice": {"zh": row.notice_zh, "en": row.notice_en},
        # The business day shown, and when the next one begins (the TV re-reads then).
        "business_day": today.day.isoformat(),
        "next_day_at": today.ends.isoformat(),
        "services": services,
        "counters": [counter_data(session, c) for c in counters],
        "recent_calls": [recent_call(e) for e in calls],
    }


def recent_call(row: TicketEvent) -> dict[str, Any]:
    """One of the TV's last calls, from a stored call or recall."""
    event = stored_event(row)
    assert isinstance(event, TicketCalled | TicketRecalled), event.type
    return {
        "number": event.data.number,
        "counter": row.counter,
        "counter_name": event.data.counter_name.wire(),
        "service": event.data.service,
        "called_at": iso(event.at),
        "recall": isinstance(event, TicketRecalled),
    }


def _promise(
    session: Session, settings: ServiceSettings, ahead: int, today: Today
) -> dict[str, Any]:
    """A new ticket's promised wait: the point and the range (server/queue/wait_range.py)."""
    _, promise = estimate_with_range(session, settings, ahead, today=today)
    return {"estimated_wait_s": promise.point, "estimated_wait_range_s": list(promise.pair)}


def services_overview(
    session: Session, branch: BranchSettings, now: datetime
) -> list[dict[str, Any]]:
    """`GET /services`: what the kiosk shows."""
    today = Today.of(branch, now)
    waiting = waiting_tickets(session, today)
    rows = {s.code: s for s in session.exec(select(Service).where(Service.branch == branch.code))}
    overview = []
    for settings in branch.services:
        count = sum(1 for t in waiting if t.service == settings.code and t.target_counter is None)
        row = rows.get(settings.code)
        overview.append(
            {
                "code": settings.code,
                "prefix": settings.prefix,
                "name": settings.name.model_dump(),
                "open": row.open if row else settings.open,
                "waiting": count,
                **_promise(session, settings, count, today),
                "target_wait_s": round(settings.target_wait_min * 60),
            }
        )
    return overview
