"""Events: one typed row per change, appended in the same transaction as the change,
numbered per branch, and published to the hub only after the commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session

from server.db import connection_of
from server.models import Branch, TicketEvent, as_utc, utc


class EventType(StrEnum):
    ticket_issued = "ticket.issued"
    ticket_called = "ticket.called"
    ticket_recalled = "ticket.recalled"
    ticket_started = "ticket.started"
    ticket_completed = "ticket.completed"
    ticket_no_show = "ticket.no_show"
    ticket_transferred = "ticket.transferred"
    ticket_cancelled = "ticket.cancelled"
    ticket_rated = "ticket.rated"
    rating_requested = "rating.requested"
    board_updated = "board.updated"
    slides_updated = "slides.updated"
    counter_updated = "counter.updated"
    notice_updated = "notice.updated"
    service_updated = "service.updated"
    printer_updated = "printer.updated"


@dataclass(frozen=True)
class Event:
    """The wire format too: `{"type", "seq", "at", "data"}`."""

    branch: str
    type: str
    seq: int
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        at = utc(self.at)
        return {
            "type": self.type,
            "seq": self.seq,
            "at": at.isoformat() if at else None,
            "data": self.data,
        }

    @classmethod
    def from_row(cls, row: TicketEvent) -> Event:
        at = utc(row.at)
        assert at is not None
        return cls(branch=row.branch, type=row.type, seq=row.seq, at=at, data=dict(row.data))


_BRANCH = Branch.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
# Prebuilt Core statements: every change of every use-case runs these two.
_NEXT_SEQ = (
    update(_BRANCH)
    .where(_BRANCH.c.code == bindparam("branch"))
    .values(event_seq=_BRANCH.c.event_seq + 1)
    .returning(_BRANCH.c.event_seq)
)
_INSERT_EVENT = insert(_EVENT)


def next_seq(session: Session, branch: str) -> int:
    """Take the branch's next sequence number. The row lock this UPDATE holds until
    commit also makes commit order equal seq order on Postgres."""
    # Changes the use-case made to rows go to the database first, so that every
    # transaction locks the rows it changes before the branch row (no deadlock).
    session.flush()
    result = connection_of(session).execute(_NEXT_SEQ, {"branch": branch})
    return int(result.scalar_one())


def record(
    session: Session,
    *,
    branch: str,
    type: EventType,
    now: datetime,
    ticket_id: int | None = None,
    counter: str | None = None,
    teller: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append one event row; it is published after the commit (see Store.write)."""
    seq = next_seq(session, branch)
    data = data or {}
    connection_of(session).execute(
        _INSERT_EVENT,
        {
            "branch": branch,
            "seq": seq,
            "type": str(type),
            "ticket_id": ticket_id,
            "counter": counter,
            "teller": teller,
            "at": as_utc(now),
            "data": data,
        },
    )
    event = Event(branch=branch, type=str(type), seq=seq, at=now, data=data)
    pending: list[Event] = session.info.setdefault("lobbyq_events", [])
    pending.append(event)
    return event


def pending_events(session: Session) -> list[Event]:
    events: list[Event] = session.info.pop("lobbyq_events", [])
    return events
