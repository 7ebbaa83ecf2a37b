"""Finding a ticket by what the public holds: its token (the QR code, the mobile page)."""

from __future__ import annotations

from sqlmodel import Session, select

from server.models import Ticket


def ticket_by_token(session: Session, token: str, *, branch: str | None = None) -> Ticket | None:
    """The ticket of a token, in `branch` when given; None when there is none."""
    if len(token) > 64:  # tokens are 24 characters: a longer one is nobody's
        return None
    query = select(Ticket).where(Ticket.token == token)
    if branch is not None:
        query = query.where(Ticket.branch == branch)
    return session.exec(query).first()
