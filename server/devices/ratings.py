"""Customer ratings at the counter (the rating pad) and the teller's "ask for rating".

A rating counts once per ticket, for the teller who completed it: the ticket's
`rated_at` is claimed by a conditional UPDATE, so the pad and the phone (or two
requests racing) cannot both count. The pad may rate only the ticket last completed
at its counter, within RATING_WINDOW of its completion."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.customer.opinions import open_opinion_from_rating
from server.errors import Conflict, Forbidden, InvalidInput
from server.events import (
    EventType,
    RatedTicket,
    RatingRequestedData,
    TicketRatedData,
    record,
)
from server.models import Ticket, TicketStatus, as_utc, utc
from server.queue.tickets import teller_counter

RATING_WINDOW = timedelta(minutes=10)
# Reason chips offered for the two lowest ratings.
REASONS = ("waited_too_long", "attitude", "not_solved", "other")
LOW_RATING = 2  # 1 and 2 of 5 may carry reasons

# The words on the pad's chips, for the opinion's text.
REASON_TEXT = {
    "waited_too_long": "等候太久 Waited too long",
    "attitude": "服务态度 Attitude",
    "not_solved": "问题未解决 Not solved",
    "other": "其他 Other",
}


def last_completed(
    session: Session, branch: BranchSettings, counter: str, now: datetime
) -> Ticket | None:
    """The ticket last completed at this counter, if within the rating window."""
    ticket = session.exec(
        select(Ticket)
        .where(
            Ticket.branch == branch.code,
            Ticket.counter == counter,
            Ticket.status == TicketStatus.completed,
            col(Ticket.finished_at) >= as_utc(now - RATING_WINDOW),
            col(Ticket.finished_at) <= as_utc(now),
        )
        .order_by(col(Ticket.finished_at).desc(), col(Ticket.id).desc())
        .limit(1)
    ).first()
    return ticket


def claim_rating(
    session: Session,
    ticket: Ticket,
    *,
    rating: int,
    reasons: list[str] | None,
    now: datetime,
) -> None:
    """Write the customer's rating unless the ticket has one: 409 `already_rated`."""
    claimed = session.execute(
        update(Ticket)
        .where(
            col(Ticket.id) == ticket.id,
            col(Ticket.rated_at).is_(None),
            col(Ticket.rating).is_(None),
        )
        .values(rating=rating, rating_reasons=reasons, rated_at=as_utc(now))
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("感谢，您已评价过。This visit has already been rated.", code="already_rated")
    set_committed_value(ticket, "rating", rating)
    set_committed_value(ticket, "rating_reasons", reasons)
    set_committed_value(ticket, "rated_at", as_utc(now))


def rated_ticket(ticket: Ticket) -> RatedTicket:
    return RatedTicket(
        number=ticket.number,
        service=ticket.service,
        counter=ticket.counter,
        teller=ticket.teller,
        rating=ticket.rating,
        reasons=list(ticket.rating_reasons or []),
    )


def record_rated(
    session: Session, ticket: Ticket, *, source: str, has_comment: bool, now: datetime
) -> None:
    """The `ticket.rated` event, from the counter's pad ("pad") or the phone ("phone")."""
    data = TicketRatedData(
        **rated_ticket(ticket).model_dump(), source=source, has_comment=has_comment
    )
    record(
        session,
        branch=ticket.branch,
        type=EventType.ticket_rated,
        now=now,
        ticket_id=ticket.id,
        counter=ticket.counter,
        teller=ticket.teller,
        data=data,
    )


def check_reasons(rating: int, reasons: list[str]) -> list[str] | None:
    unknown = [r for r in reasons if r not in REASONS]
    if unknown:
        raise InvalidInput(
            f"reasons: unknown {', '.join(unknown)}; choose from {', '.join(REASONS)}",
            code="unknown_reason",
        )
    if reasons and rating > LOW_RATING:
        raise InvalidInput(
            f"reasons are asked for ratings 1 and 2 only, not {rating}", code="reasons_not_asked"
        )
    return sorted(set(reasons), key=REASONS.index) or None


def rate_at_counter(
    *,
    session: Session,
    branch: BranchSettings,
    counter: str,
    number: str,
    rating: int,
    reasons: list[str],
    now: datetime,
) -> Ticket:
    """The customer rates on the counter's pad: only the ticket last completed there
    within the window, once; counted for the teller who completed it."""
    if not branch.ratings_enabled:
        raise Forbidden("this branch does not take ratings", code="ratings_disabled")
    if not 1 <= rating <= 5:
        raise InvalidInput("rating: 1 to 5", code="invalid_rating")
    chosen = check_reasons(rating, reasons)
    ticket = last_completed(session, branch, counter, now)
    if ticket is None or ticket.number != number.strip().upper():
        raise Conflict(
            "只能评价本窗口刚办结的业务。Only the ticket last completed at this counter, "
            "in the last 10 minutes, can be rated here.",
            code="not_rateable",
        )
    claim_rating(session, ticket, rating=rating, reasons=chosen, now=now)
    record_rated(session, ticket, source="pad", has_comment=False, now=now)
    if chosen and rating <= LOW_RATING:
        # A low rating with a reason opens an opinion in the manager's inbox (issue 15).
        open_opinion_from_rating(
            session=session,
            branch=branch,
            ticket=ticket,
            rating=rating,
            reasons=chosen,
            reason_text=REASON_TEXT,
            counter=counter,
            now=now,
        )
    return ticket


def ask_rating(
    *, session: Session, branch: BranchSettings, counter: str, username: str, now: datetime
) -> Ticket:
    """The teller asks the customer to rate the ticket just completed: the counter's
    pad shows the rating buttons (event `rating.requested`)."""
    if not branch.ratings_enabled:
        raise Forbidden("this branch does not take ratings", code="ratings_disabled")
    row = teller_counter(session, branch, counter, username)
    ticket = last_completed(session, branch, row.number, now)
    if ticket is None:
        raise Conflict(
            "no ticket was completed at this counter in the last 10 minutes",
            code="nothing_to_rate",
        )
    if ticket.rated_at is not None or ticket.rating is not None:
        raise Conflict(f"{ticket.number} has already been rated", code="already_rated")
    record(
        session,
        branch=branch.code,
        type=EventType.rating_requested,
        now=now,
        ticket_id=ticket.id,
        counter=row.number,
        teller=ticket.teller,
        data=RatingRequestedData(
            number=ticket.number,
            service=ticket.service,
            counter=row.number,
            teller=ticket.teller,
            completed_at=utc(ticket.finished_at),
        ),
    )
    return ticket
