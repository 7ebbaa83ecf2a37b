"""Counter use-cases: one user per counter; open, pause, resume, close."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from server.config import BranchSettings
from server.errors import Conflict
from server.events import CounterUpdatedData, EventType, record
from server.models import HELD, Counter, CounterState, Ticket, as_utc
from server.public import CounterPublic
from server.queue.tickets import lock_counter, teller_counter


def counter_public(session: Session, counter: Counter) -> CounterPublic:
    current = session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    return CounterPublic.of(counter, current)


def counter_data(session: Session, counter: Counter) -> dict[str, Any]:
    return counter_public(session, counter).wire()


def _changed(
    session: Session, branch: BranchSettings, counter: Counter, now: datetime, action: str
) -> Counter:
    counter.state_since = as_utc(now)
    session.add(counter)
    session.flush()
    record(
        session,
        branch=branch.code,
        type=EventType.counter_updated,
        now=now,
        counter=counter.number,
        teller=counter.username,
        data=CounterUpdatedData(**counter_public(session, counter).model_dump(), action=action),
    )
    return counter


def open_counter(
    *, session: Session, branch: BranchSettings, counter: str, username: str, now: datetime
) -> Counter:
    row = lock_counter(session, branch, counter)
    if row.username not in (None, username):
        raise Conflict(f"{row.username} is signed in at counter {row.number}", code="counter_taken")
    elsewhere = session.exec(
        select(Counter).where(
            Counter.branch == branch.code, Counter.username == username, Counter.number != counter
        )
    ).first()
    if elsewhere is not None:
        raise Conflict(
            f"you are signed in at counter {elsewhere.number}; close it first",
            code="signed_in_elsewhere",
        )
    if row.username == username and row.state == CounterState.open:
        return row
    row.username = username
    row.state = CounterState.open
    return _changed(session, branch, row, now, "open")


def pause_counter(
    *, session: Session, branch: BranchSettings, counter: str, username: str, now: datetime
) -> Counter:
    row = teller_counter(session, branch, counter, username)
    row.state = CounterState.paused
    return _changed(session, branch, row, now, "pause")


def resume_counter(
    *, session: Session, branch: BranchSettings, counter: str, username: str, now: datetime
) -> Counter:
    row = teller_counter(session, branch, counter, username)
    row.state = CounterState.open
    return _changed(session, branch, row, now, "resume")


def close_counter(
    *, session: Session, branch: BranchSettings, counter: str, username: str, now: datetime
) -> Counter:
    row = teller_counter(session, branch, counter, username)
    if row.current_ticket_id is not None:
        held = session.get(Ticket, row.current_ticket_id)
        if held is not None and held.status in HELD:
            raise Conflict(
                f"{held.number} is still at this counter: complete or transfer it first",
                code="ticket_held",
            )
    row.state = CounterState.closed
    row.username = None
    row.current_ticket_id = None
    row.consecutive_priority = 0
    return _changed(session, branch, row, now, "close")
