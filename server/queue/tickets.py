"""The ticket use-cases: issue, call, recall, start, complete, no-show, transfer,
cancel. Plain functions with keyword-only arguments; time is the `now` parameter.
Each runs inside one write transaction (the caller's) and appends one event per
change; the caller commits, then publishes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from server.config import BranchSettings, PrioritySettings, ServiceSettings
from server.db import connection_of
from server.errors import Conflict, InvalidInput, NotFound, QueueEmpty
from server.events import TICKET_DATA, EventType, record
from server.models import (
    HELD,
    Appointment,
    Counter,
    DailySequence,
    Service,
    Ticket,
    TicketStatus,
    as_utc,
    utc,
)
from server.public import TicketPublic
from server.queue import desk, ordering
from server.queue.calendar import check_open_for_tickets
from server.queue.line import (
    as_waiting,
    heads_of_line,
    waiting_in_line,
)
from server.queue.today import Today
from server.queue.wait_range import estimate_with_range


def _priority(branch: BranchSettings, code: str) -> PrioritySettings:
    priority = branch.priority(code)
    if priority is not None:
        return priority
    known = ", ".join(p.code for p in branch.all_priorities())
    raise InvalidInput(f"unknown priority {code!r} (known: {known})", code="unknown_priority")


def _service(branch: BranchSettings, code: str) -> ServiceSettings:
    service = branch.service(code)
    if service is None:
        known = ", ".join(s.code for s in branch.services)
        raise InvalidInput(f"unknown service {code!r} (known: {known})", code="unknown_service")
    return service


_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_SERVICE = Service.__table__  # type: ignore[attr-defined]
_SEQUENCE = DailySequence.__table__  # type: ignore[attr-defined]

# The hot path (issuing) runs prebuilt Core statements: built once, their cache keys and
# compiled SQL are reused, where an ORM statement is rebuilt and re-keyed on every call
# (bench/bench_core.py: issuing went from ~5 ms of Python to about 1 ms).
_SERVICE_OPEN = sa_select(_SERVICE.c.open).where(
    _SERVICE.c.branch == bindparam("branch"), _SERVICE.c.code == bindparam("service")
)
_INSERT_TICKET = sa_insert(_TICKET).returning(_TICKET.c.id)
_SEQ_UPSERT: dict[str, Any] = {}


def _seq_upsert(dialect: str) -> Any:
    """Take the next number of the day in one statement: insert 1, or add 1."""
    statement = _SEQ_UPSERT.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _SEQ_UPSERT[dialect] = (
            insert(_SEQUENCE)
            .values(
                branch=bindparam("branch"),
                service=bindparam("service"),
                business_day=bindparam("day"),
                last=1,
            )
            .on_conflict_do_update(
                index_elements=["branch", "service", "business_day"],
                set_={"last": _SEQUENCE.c.last + 1},
            )
            .returning(_SEQUENCE.c.last)
        )
    return statement


def _next_seq(session: Session, branch: str, service: str, day: Any) -> int:
    connection = connection_of(session)
    statement = _seq_upsert(connection.dialect.name)
    result = connection.execute(statement, {"branch": branch, "service": service, "day": day})
    return int(result.scalar_one())


def _service_open(session: Session, branch: str, service: str) -> bool:
    params = {"branch": branch, "service": service}
    row = connection_of(session).execute(_SERVICE_OPEN, params).first()
    return row is None or bool(row[0])


# --- position and estimated wait -------------------------------------------------


@dataclass(frozen=True)
class Place:
    position: int | None
    estimated_wait_s: int | None
    # The promise as a range (server/queue/wait_range.py), and the raw estimate behind it.
    estimated_wait_range_s: tuple[int, int] | None = None
    estimate_raw_s: int | None = None

    @property
    def range_json(self) -> list[int] | None:
        """`estimated_wait_range_s` as the API and the events carry it."""
        return list(self.estimated_wait_range_s) if self.estimated_wait_range_s else None


# Under `weighted`, a ticket issued this instant scores 0 and everyone already waiting in
# its queue scores at least that and came earlier: all are ahead. A COUNT (over the
# ix_ticket_line index) says so without reading the queue. Ties at score 0 go by
# enqueued_at, then number (ordering.sort_key).
_AHEAD_OF_NEW = (
    sa_select(func.count())
    .select_from(_TICKET)
    .where(
        _TICKET.c.branch == bindparam("branch"),
        _TICKET.c.status == TicketStatus.waiting,
        _TICKET.c.business_day == bindparam("day"),
        _TICKET.c.service == bindparam("service"),
        _TICKET.c.target_counter.is_(None),
        or_(
            _TICKET.c.enqueued_at < bindparam("at"),
            and_(_TICKET.c.enqueued_at == bindparam("at"), _TICKET.c.number < bindparam("number")),
        ),
    )
)


def _ahead_of_new_ticket(session: Session, ticket: Ticket) -> int:
    """People ahead of a ticket not yet written, under `weighted`."""
    params = {
        "branch": ticket.branch,
        "day": ticket.business_day,
        "service": ticket.service,
        "at": ticket.enqueued_at,
        "number": ticket.number,
    }
    return int(connection_of(session).execute(_AHEAD_OF_NEW, params).scalar_one())


def _counted_cheaply(branch: BranchSettings, ticket: Ticket) -> bool:
    """Whether place_of counts a new ticket's people ahead with the cheap count."""
    return branch.ordering == "weighted" and ticket.target_counter is None


def place_of(session: Session, ticket: Ticket, today: Today, *, new: bool = False) -> Place:
    """Position and estimated wait. `new`: the ticket is being issued and is not
    written yet."""
    branch = today.branch
    if ticket.status != TicketStatus.waiting:
        return Place(None, None)
    me = as_waiting(ticket)
    if new and _counted_cheaply(branch, ticket):
        ahead = _ahead_of_new_ticket(session, ticket)
    else:
        # people_ahead only counts the ticket's own queue, so only that service is read.
        waiting = waiting_in_line(session, today, service=ticket.service)
        ahead = ordering.people_ahead(me, waiting, today.rules, today.now)
    service = branch.service(ticket.service)
    if service is None:
        return Place(ahead, None)
    raw, promise = estimate_with_range(session, service, ahead, today=today, ticket=me)
    return Place(ahead, promise.point, promise.pair, raw)


# --- events' data -------------------------------------------------------------------


def ticket_data(
    ticket: Ticket, type: EventType = EventType.ticket_started, **extra: Any
) -> TicketPublic:
    """The ticket as the event `type` carries it (TicketPublic and the event's own fields)."""
    return TICKET_DATA[type](**{**TicketPublic.fields_of(ticket), **extra})


def _record_ticket(
    session: Session,
    branch: BranchSettings,
    type: EventType,
    ticket: Ticket,
    now: datetime,
    **extra: Any,
) -> None:
    record(
        session,
        branch=branch.code,
        type=type,
        now=now,
        ticket_id=ticket.id,
        counter=ticket.counter or extra.get("from_counter"),
        teller=ticket.teller or extra.get("teller"),
        data=ticket_data(ticket, type, **extra),
    )


# --- issue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    ticket: Ticket
    place: Place
    notice: str | None = None  # e.g. "late for the appointment: a normal ticket"


def issue_ticket(
    *,
    session: Session,
    branch: BranchSettings,
    service: str,
    now: datetime,
    priority: str = "normal",
    customer_ref: str | None = None,
    appointment: Appointment | None = None,
    lang: str = "zh",
    source: str = "",
) -> Issued:
    settings = _service(branch, service)
    _priority(branch, priority)
    if not _service_open(session, branch.code, settings.code):
        raise Conflict(
            f"{settings.name.zh}暂停取号。{settings.name.en} is not taking tickets now.",
            code="service_closed",
        )
    today = Today.of(branch, now)  # the day every step below reads
    check_open_for_tickets(settings, today)
    priority_from = None
    notice = None
    if appointment is not None:
        priority, priority_from, notice = _appointment_class(branch, appointment, now)
    day = today.day
    prefix = _priority(branch, priority).prefix
    ticket = Ticket(
        token=secrets.token_urlsafe(18),
        branch=branch.code,
        business_day=day,
        service_seq_key=settings.code,
        seq=0,
        number="",
        service=settings.code,
        priority=priority,
        priority_from=as_utc(priority_from) if priority_from else None,
        issued_at=as_utc(now),
        enqueued_at=as_utc(now),
        customer_ref=customer_ref,
        appointment_id=appointment.id if appointment else None,
        lang=lang,
        source=source,
    )
    # The place and its estimate are worked out before the day's number is taken:
    # that number's row lock is held until commit and every issuer of the service
    # queues on it, so it must be held for a few statements, not for an estimate.
    # Under the lock the people ahead are counted again (one indexed count): a ticket
    # another kiosk issued meanwhile is then counted, and the estimate redone. (The
    # strict ordering has no cheap count: there the place is taken under the lock.)
    early = _counted_cheaply(branch, ticket)
    place = place_of(session, ticket, today, new=True) if early else None
    ticket.seq = _next_seq(session, branch.code, settings.code, day)
    ticket.number = f"{prefix}{settings.prefix}{ticket.seq:03d}"
    if place is None or _ahead_of_new_ticket(session, ticket) != place.position:
        place = place_of(session, ticket, today, new=True)
    # The row is written once, promise included.
    ticket.estimated_wait_s = place.estimated_wait_s
    ticket.estimate_raw_s = place.estimate_raw_s
    ticket.people_ahead_at_issue = place.position
    values = {c.name: getattr(ticket, c.name) for c in _TICKET.columns if c.name != "id"}
    ticket.id = int(connection_of(session).execute(_INSERT_TICKET, values).scalar_one())
    if appointment is not None:
        appointment.status = "checked_in"
        appointment.ticket_id = ticket.id
        session.add(appointment)
    _record_ticket(
        session,
        branch,
        EventType.ticket_issued,
        ticket,
        now,
        position=place.position,
        estimated_wait_s=place.estimated_wait_s,
        estimated_wait_range_s=place.range_json,
        estimate_raw_s=place.estimate_raw_s,
        appointment=appointment.code if appointment else None,
    )
    return Issued(ticket=ticket, place=place, notice=notice)


def _appointment_class(
    branch: BranchSettings, appointment: Appointment, now: datetime
) -> tuple[str, datetime | None, str | None]:
    """An appointment ranks as such from (time - early window); after the late
    window it is a normal walk-in, and the customer is told so."""
    at = utc(appointment.at)
    assert at is not None
    codes = {p.code for p in branch.all_priorities()}
    if now > at + timedelta(minutes=branch.appointment_late_min):
        return (
            "normal",
            None,
            "您已超过预约时间，本号为普通号，按到店顺序办理。"
            "You are late for your appointment: this is a normal ticket, served in arrival order.",
        )
    local, today = at.astimezone(branch.zone), now.astimezone(branch.zone).date()
    if local.date() != today:
        return (
            "normal",
            None,
            f"您的预约是{local.month}月{local.day}日 {local:%H:%M}，今天为您取普通号。"
            f"Your booking is for {local:%Y-%m-%d %H:%M}, not today: this is a normal ticket.",
        )
    if "appointment" not in codes:
        return "normal", None, None
    starts = at - timedelta(minutes=branch.appointment_early_min)
    if now < starts:
        shown = starts.astimezone(branch.zone)
        return (
            "appointment",
            starts,
            f"您早到了：{shown:%H:%M}起按预约优先叫号，此前按普通顺序等候。"
            f"You are early: from {shown:%H:%M} you are called with booking priority; "
            "until then you wait in the normal order.",
        )
    return "appointment", starts, None


# --- counters' actions -------------------------------------------------------------


def lock_counter(session: Session, branch: BranchSettings, number: str) -> Counter:
    counter = session.exec(
        select(Counter)
        .where(Counter.branch == branch.code, Counter.number == number)
        .with_for_update()
    ).first()
    if counter is None:
        raise desk.counter_not_found(branch, number)
    return counter


def teller_counter(session: Session, branch: BranchSettings, number: str, username: str) -> Counter:
    counter = lock_counter(session, branch, number)
    desk.check_teller(number, counter.username, username)
    return counter


def held_ticket(session: Session, counter: Counter) -> Ticket:
    ticket = session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    if ticket is None or ticket.status not in HELD:
        raise Conflict(f"counter {counter.number} holds no ticket", code="no_ticket_held")
    return ticket


def _give_to_counter(
    session: Session,
    branch: BranchSettings,
    counter: desk.Desk,
    ticket: Ticket,
    now: datetime,
    **extra: Any,
) -> Ticket:
    """The claimed ticket is the counter's now. The call's announcement (text, audio) is
    the display side's: the voice port adds it as the event leaves (server/ports.py)."""
    assert ticket.id is not None
    priority = ordering.effective_priority(as_waiting(ticket), now) != ordering.NORMAL
    streak = counter.consecutive_priority + 1 if priority else 0
    desk.set_current(session, counter, ticket.id, streak)
    _record_ticket(
        session,
        branch,
        EventType.ticket_called,
        ticket,
        now,
        counter_name=counter.name,
        **extra,
    )
    return ticket


def call_next(
    *,
    session: Session,
    branch: BranchSettings,
    counter: str,
    username: str,
    now: datetime,
) -> Ticket:
    row = desk.teller_desk(session, branch, counter, username)
    desk.ensure_free_and_open(session, row)
    today = Today.of(branch, now)
    waiting = heads_of_line(session, today, counter=row.number, services=row.services)
    candidates = ordering.choose_next(
        waiting,
        counter=row.number,
        services=row.services,
        consecutive_priority=row.consecutive_priority,
        rules=today.rules,
        now=now,
    )
    for candidate in candidates:
        ticket = desk.claim(session, candidate.id, row, username, now, skip_locked=True)
        if ticket is not None:
            return _give_to_counter(session, branch, row, ticket, now)
    raise QueueEmpty("nobody is waiting for this counter")


def find_ticket_by_number(session: Session, today: Today, number: str) -> Ticket:
    ticket = session.exec(
        select(Ticket).where(
            Ticket.branch == today.branch.code,
            Ticket.business_day == today.day,
            func.upper(Ticket.number) == number.strip().upper(),
        )
    ).first()
    if ticket is None:
        raise NotFound(f"no ticket {number!r} today", code="ticket_not_found")
    return ticket


def call_number(
    *,
    session: Session,
    branch: BranchSettings,
    counter: str,
    username: str,
    number: str,
    now: datetime,
) -> Ticket:
    """Call one ticket by its number: a waiting one, or a no-show within its grace
    period (reinstated)."""
    row = desk.teller_desk(session, branch, counter, username)
    desk.ensure_free_and_open(session, row)
    ticket = find_ticket_by_number(session, Today.of(branch, now), number)
    reinstated = False
    if ticket.status == TicketStatus.no_show:
        finished = utc(ticket.finished_at)
        grace = timedelta(minutes=branch.no_show_grace_min)
        if finished is None or now - finished > grace:
            raise Conflict(
                f"{ticket.number} was a no-show more than {branch.no_show_grace_min:g} minutes ago",
                code="grace_expired",
            )
        reinstated = True
    elif ticket.status != TicketStatus.waiting:
        raise Conflict(f"{ticket.number} is {ticket.status}, not waiting", code="not_waiting")
    if not reinstated and not ordering.callable_by(as_waiting(ticket), row.number, row.services):
        raise Conflict(
            f"counter {row.number} does not serve {ticket.service}; transfer the ticket instead",
            code="service_not_served",
        )
    assert ticket.id is not None
    called = desk.claim(
        session, ticket.id, row, username, now, (TicketStatus.waiting, TicketStatus.no_show)
    )
    if called is None:
        raise Conflict(f"{ticket.number} was just called elsewhere", code="not_waiting")
    return _give_to_counter(
        session, branch, row, called, now, reinstated=reinstated, by_number=True
    )


def recall(
    *,
    session: Session,
    branch: BranchSettings,
    counter: str,
    username: str,
    now: datetime,
) -> Ticket:
    row = teller_counter(session, branch, counter, username)
    ticket = held_ticket(session, row)
    if ticket.status != TicketStatus.called:
        raise Conflict(f"{ticket.number} is already being served", code="already_serving")
    ticket.recall_count += 1
    session.add(ticket)
    _record_ticket(
        session,
        branch,
        EventType.ticket_recalled,
        ticket,
        now,
        recall_count=ticket.recall_count,
        counter_name={"zh": row.name_zh, "en": row.name_en},
    )
    return ticket


def start_service(
    *, session: Session, branch: BranchSettings, counter: str, username: str, now: datetime
) -> Ticket:
    row = teller_counter(session, branch, counter, username)
    ticket = held_ticket(session, row)
    if ticket.status != TicketStatus.called:
        raise Conflict(f"{ticket.number} is already being served", code="already_serving")
    ticket.status = TicketStatus.serving
    ticket.started_at = as_utc(now)
    session.add(ticket)
    _record_ticket(session, branch, EventType.ticket_started, ticket, now)
    return ticket


def _release(session: Session, counter: Counter) -> None:
    counter.current_ticket_id = None
    session.add(counter)


def complete(
    *,
    session: Session,
    branch: BranchSettings,
    counter: str,
    username: str,
    now: datetime,
    rating: int | None = None,
) -> Ticket:
    # v1's `rating` at completion is the teller's word: kept, never counted (API.md
    # v1.1); the customer rates on the pad or the phone (server/devices/ratings.py).
    row = desk.teller_desk(session, branch, counter, username)
    ticket = desk.complete_held(session, row, now, rating)
    _record_ticket(session, branch, EventType.ticket_completed, ticket, now, teller_rating=rating)
    return ticket


def mark_no_show(
    *, session: Session, branch: BranchSettings, counter: str, username: str, now: datetime
) -> Ticket:
    row = teller_counter(session, branch, counter, username)
    ticket = held_ticket(session, row)
    if ticket.status != TicketStatus.called:
        raise Conflict(f"{ticket.number} is being served, not absent", code="already_serving")
    if ticket.recall_count < branch.recalls_before_no_show:
        raise Conflict(
            f"recall {ticket.number} {branch.recalls_before_no_show - ticket.recall_count} "
            "more time(s) before marking a no-show",
            code="recall_first",
        )
    ticket.status = TicketStatus.no_show
    ticket.finished_at = as_utc(now)
    session.add(ticket)
    _release(session, row)
    _record_ticket(session, branch, EventType.ticket_no_show, ticket, now)
    return ticket


def transfer(
    *,
    session: Session,
    branch: BranchSettings,
    counter: str,
    username: str,
    now: datetime,
    to_service: str | None = None,
    to_counter: str | None = None,
    keep_place: bool = True,
) -> Ticket:
    """Back to waiting in another service, or for one chosen counter. The place in
    the queue (enqueued_at) is kept unless told otherwise."""
    if not to_service and not to_counter:
        raise InvalidInput("give a service or a counter to transfer to", code="transfer_target")
    row = teller_counter(session, branch, counter, username)
    ticket = held_ticket(session, row)
    if to_service:
        _service(branch, to_service)
    if to_counter:
        target = branch.counter(to_counter)
        if target is None:
            raise InvalidInput(f"unknown counter {to_counter!r}", code="unknown_counter")
        if to_counter == row.number:
            raise InvalidInput("the ticket is already at this counter", code="transfer_target")
        if to_service and to_service not in target.services:
            raise InvalidInput(
                f"counter {to_counter} does not serve {to_service}", code="transfer_target"
            )
    from_service, from_counter = ticket.service, row.number
    ticket.service = to_service or ticket.service
    ticket.target_counter = to_counter
    ticket.status = TicketStatus.waiting
    ticket.counter = None
    ticket.teller = None
    ticket.called_at = None
    ticket.started_at = None
    if not keep_place:
        ticket.enqueued_at = as_utc(now)
    session.add(ticket)
    _release(session, row)
    _record_ticket(
        session,
        branch,
        EventType.ticket_transferred,
        ticket,
        now,
        from_service=from_service,
        from_counter=from_counter,
        to_service=ticket.service,
        to_counter=to_counter,
        keep_place=keep_place,
        teller=username,
    )
    return ticket


def cancel_by_customer(
    *, session: Session, branch: BranchSettings, ticket: Ticket, now: datetime
) -> Ticket:
    if ticket.status != TicketStatus.waiting:
        raise Conflict(
            f"{ticket.number} is {ticket.status}; only a waiting ticket can be cancelled",
            code="not_waiting",
        )
    ticket.status = TicketStatus.cancelled
    ticket.finished_at = as_utc(now)
    session.add(ticket)
    _record_ticket(session, branch, EventType.ticket_cancelled, ticket, now)
    return ticket
