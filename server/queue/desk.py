"""The counter's hot path in prebuilt Core statements: call-next and complete.

A teller presses these two keys 300 times a day, 30 counters at once in a big branch.
Through the ORM each press loaded the counter and the whole ticket row (twice: get,
then refresh), flushed them through the unit of work and rebuilt a statement or two
per call; bench/bench_core.py measured ~11 ms of server CPU per call-next + complete,
so 30 counters pressing at once waited up to a third of a second. Here the counter is
read once (locked), the ticket is claimed or ended by one UPDATE ... RETURNING that
also gives back the row, and the counter is written by one UPDATE: each statement is
built once and its compiled form reused.

`Desk` is what these paths read of a counter; the other actions (open, pause,
transfer...) still use the ORM `Counter` of server/queue/tickets.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func, select, update
from sqlmodel import Session

from server.config import BranchSettings
from server.db import connection_of
from server.errors import Conflict, Forbidden, NotFound
from server.models import HELD, Counter, CounterState, Ticket, TicketStatus, as_utc

_COUNTER = Counter.__table__  # type: ignore[attr-defined]
_TICKET = Ticket.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Desk:
    """A counter row, read (and locked) for one call-next or complete."""

    id: int
    number: str
    name: dict[str, str]  # {"zh", "en"}
    state: str
    username: str | None
    services: list[str]
    current_ticket_id: int | None
    consecutive_priority: int


_LOCK_DESK = (
    select(
        _COUNTER.c.id,
        _COUNTER.c.number,
        _COUNTER.c.name_zh,
        _COUNTER.c.name_en,
        _COUNTER.c.state,
        _COUNTER.c.username,
        _COUNTER.c.services,
        _COUNTER.c.current_ticket_id,
        _COUNTER.c.consecutive_priority,
    )
    .where(_COUNTER.c.branch == bindparam("branch"), _COUNTER.c.number == bindparam("number"))
    .with_for_update()
)
_SET_CURRENT = (
    update(_COUNTER)
    .where(_COUNTER.c.id == bindparam("desk"))
    .values(
        current_ticket_id=bindparam("ticket"),
        consecutive_priority=bindparam("streak"),
    )
)
_RELEASE = update(_COUNTER).where(_COUNTER.c.id == bindparam("desk")).values(current_ticket_id=None)
_HELD_BY = select(_TICKET.c.number, _TICKET.c.status).where(_TICKET.c.id == bindparam("ticket"))


def counter_not_found(branch: BranchSettings, number: str) -> NotFound:
    return NotFound(f"no counter {number!r} in branch {branch.code}", code="counter_not_found")


def check_teller(number: str, signed_in: str | None, username: str) -> None:
    """Only the teller signed in at a counter acts there."""
    if signed_in != username:
        who = f"{signed_in} is" if signed_in else "nobody is"
        raise Forbidden(
            f"You are not signed in at counter {number} ({who} signed in there). Open it first.",
            code="not_at_counter",
        )


def teller_desk(session: Session, branch: BranchSettings, number: str, username: str) -> Desk:
    """The counter, locked for this transaction, if `username` is signed in there."""
    row = (
        connection_of(session)
        .execute(_LOCK_DESK, {"branch": branch.code, "number": number})
        .first()
    )
    if row is None:
        raise counter_not_found(branch, number)
    desk = Desk(
        id=row.id,
        number=row.number,
        name={"zh": row.name_zh, "en": row.name_en},
        state=str(row.state),
        username=row.username,
        services=list(row.services),
        current_ticket_id=row.current_ticket_id,
        consecutive_priority=row.consecutive_priority,
    )
    check_teller(number, desk.username, username)
    return desk


def ensure_free_and_open(session: Session, desk: Desk) -> None:
    """A counter calls only when it is open and holds no ticket."""
    if desk.current_ticket_id is not None:
        held = connection_of(session).execute(_HELD_BY, {"ticket": desk.current_ticket_id}).first()
        if held is not None and held.status in HELD:
            raise Conflict(
                f"{held.number} is still at counter {desk.number}: complete it, "
                "mark it no-show or transfer it first",
                code="ticket_held",
            )
    if desk.state != CounterState.open:
        raise Conflict(f"counter {desk.number} is {desk.state}", code=f"counter_{desk.state}")


def set_current(session: Session, desk: Desk, ticket_id: int, streak: int) -> None:
    params = {"desk": desk.id, "ticket": ticket_id, "streak": streak}
    connection_of(session).execute(_SET_CURRENT, params)


def release(session: Session, desk: Desk) -> None:
    connection_of(session).execute(_RELEASE, {"desk": desk.id})


def _as_ticket(row: Any) -> Ticket:
    """A ticket row returned by an UPDATE, as the (unattached) model the events and the
    API shapes read; built without validation: the row is the database's own."""
    return Ticket.model_construct(**row._mapping)


# --- claim: the one conditional UPDATE that only one counter can win -----------------

_claims: dict[tuple[bool, tuple[str, ...]], Any] = {}


def _claim_statement(skip_locked: bool, from_status: tuple[str, ...]) -> Any:
    statement = _claims.get((skip_locked, from_status))
    if statement is not None:
        return statement
    which: Any = _TICKET.c.id == bindparam("ticket")
    if skip_locked:
        # FOR UPDATE SKIP LOCKED: a ticket another counter is claiming right now is
        # passed over at once instead of waited for. Waiting counters would keep the
        # tuple lock until their own transactions end, which also stalls that ticket's
        # completion (tests/scale/test_claim_race.py).
        which = _TICKET.c.id == (
            select(_TICKET.c.id)
            .where(_TICKET.c.id == bindparam("ticket"), _TICKET.c.status.in_(from_status))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    statement = _claims[(skip_locked, from_status)] = (
        update(_TICKET)
        .where(which, _TICKET.c.status.in_(from_status))
        .values(
            status=TicketStatus.called,
            counter=bindparam("counter"),
            teller=bindparam("teller"),
            called_at=bindparam("now"),
            started_at=None,
            finished_at=None,
            target_counter=None,
        )
        .returning(*_TICKET.c)
    )
    return statement


def claim(
    session: Session,
    ticket_id: int,
    desk: Desk,
    username: str,
    now: datetime,
    from_status: Sequence[TicketStatus] = (TicketStatus.waiting,),
    skip_locked: bool = False,
) -> Ticket | None:
    """The ticket, now called at this counter; None if another counter won it.
    `skip_locked` (Postgres; SQLite has one writer at a time): pass over a ticket
    another counter is claiming right now instead of waiting for it."""
    connection = connection_of(session)
    skip = skip_locked and connection.dialect.name == "postgresql"
    statement = _claim_statement(skip, tuple(str(s) for s in from_status))
    params = {"ticket": ticket_id, "counter": desk.number, "teller": username, "now": as_utc(now)}
    row = connection.execute(statement, params).first()
    return _as_ticket(row) if row is not None else None


# --- complete -------------------------------------------------------------------------

_COMPLETE = (
    update(_TICKET)
    .where(_TICKET.c.id == bindparam("ticket"), _TICKET.c.status.in_([str(s) for s in HELD]))
    .values(
        status=TicketStatus.completed,
        finished_at=bindparam("now"),
        # Start is optional: a ticket completed straight from "called" started then.
        started_at=func.coalesce(_TICKET.c.started_at, _TICKET.c.called_at),
        teller_rating=func.coalesce(
            bindparam("given_rating", type_=Integer), _TICKET.c.teller_rating
        ),
    )
    .returning(*_TICKET.c)
)


def complete_held(session: Session, desk: Desk, now: datetime, rating: int | None) -> Ticket:
    """End the ticket this counter holds as served, and free the counter."""
    row = None
    if desk.current_ticket_id is not None:
        params = {"ticket": desk.current_ticket_id, "now": as_utc(now), "given_rating": rating}
        row = connection_of(session).execute(_COMPLETE, params).first()
    if row is None:
        raise Conflict(f"counter {desk.number} holds no ticket", code="no_ticket_held")
    release(session, desk)
    return _as_ticket(row)
