"""The customer opinion book (客户意见簿): one rating and comment per served ticket."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from server.config import BranchSettings
from server.devices.ratings import claim_rating, record_rated
from server.errors import Conflict, Forbidden, InvalidInput
from server.events import EventType
from server.models import Ticket, TicketEvent, TicketStatus

MAX_COMMENT = 500


def feedback_given(session: Session, ticket: Ticket) -> bool:
    given = session.exec(
        select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.type == str(EventType.ticket_rated)
        )
    ).first()
    return given is not None


def leave_feedback(
    *,
    session: Session,
    branch: BranchSettings,
    ticket: Ticket,
    rating: int | None,
    comment: str | None,
    now: datetime,
) -> Ticket:
    """Kept with the ticket; only after the service, and only once."""
    if not branch.ratings_enabled:
        raise Forbidden("this branch does not take ratings", code="ratings_disabled")
    if ticket.status != TicketStatus.completed:
        raise Conflict(
            "服务完成后才能评价。You can rate once your service is completed.",
            code="not_completed",
        )
    text = (comment or "").strip()
    if rating is None and not text:
        raise InvalidInput("give a rating (1-5) or a comment", code="empty_feedback")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise InvalidInput("comment: control characters are not allowed", code="invalid_text")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters", code="comment_too_long")
    if feedback_given(session, ticket):
        raise Conflict("感谢，您已评价过。You have already rated this visit.", code="already_rated")
    if rating is not None:
        # The same single rating per ticket as the counter's pad.
        claim_rating(session, ticket, rating=rating, reasons=None, now=now)
    ticket.comment = text or None
    session.add(ticket)
    record_rated(session, ticket, source="phone", has_comment=bool(text), now=now)
    return ticket
