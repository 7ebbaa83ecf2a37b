"""Events: one typed row per change, appended in the same transaction as the change,
numbered per branch, and published to the hub only after the commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import Field, TypeAdapter
from sqlalchemy import bindparam, insert, update
from sqlmodel import Session

from server.db import connection_of
from server.models import Branch, TicketEvent, as_utc, utc
from server.public import CounterPublic, IsoTime, Names, TicketPublic, Wire


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


# --- what each event carries (its `data`) ----------------------------------------------


class Announcement(Wire):
    """What the TV shows and plays for one call (lobby_display/announcer)."""

    text: dict[str, str]
    speech: dict[str, str] = Field(default_factory=dict)
    audio: list[str] = Field(default_factory=list)
    repeat: int


class TicketIssuedData(TicketPublic):
    position: int | None
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None
    estimate_raw_s: int | float | None
    appointment: str | None


class TicketCalledData(TicketPublic):
    counter_name: Names
    # Added by the display side's voice (server/ports.py `AppPorts.announced`) as the
    # event leaves the server, live or replayed; the queue does not make it.
    announcement: Announcement | None = None
    reinstated: bool = False  # a no-show called back by number within the grace period
    by_number: bool = False


class TicketRecalledData(TicketPublic):
    recall_count: int
    counter_name: Names
    announcement: Announcement | None = None  # as in TicketCalledData


class TicketCompletedData(TicketPublic):
    teller_rating: int | None


class TicketTransferredData(TicketPublic):
    from_service: str
    from_counter: str | None
    to_service: str
    to_counter: str | None
    keep_place: bool
    by: str | None = None  # "lobby": moved by the lobby tablet


class RatedTicket(Wire):
    """A rated ticket as the counter's pad reads it back."""

    number: str
    service: str
    counter: str | None
    teller: str | None
    rating: int | None
    reasons: list[str]


class TicketRatedData(RatedTicket):
    source: str  # "pad" or "phone"
    has_comment: bool


class RatingRequestedData(Wire):
    number: str
    service: str
    counter: str
    teller: str | None
    completed_at: IsoTime | None


class CounterUpdatedData(CounterPublic):
    action: str


class NoticeUpdatedData(Wire):
    zh: str
    en: str


class ServiceUpdatedData(Wire):
    code: str
    open: bool


class BoardUpdatedData(Wire):
    board: str
    content: dict[str, Any]


class SlidesUpdatedData(Wire):
    slides: list[dict[str, Any]]


# --- the events: `{"type", "seq", "at", "data"}` on the wire ----------------------------


class _Event(Wire):
    seq: int
    at: IsoTime


class TicketIssued(_Event):
    type: Literal["ticket.issued"] = "ticket.issued"
    data: TicketIssuedData


class TicketCalled(_Event):
    type: Literal["ticket.called"] = "ticket.called"
    data: TicketCalledData


class TicketRecalled(_Event):
    type: Literal["ticket.recalled"] = "ticket.recalled"
    data: TicketRecalledData


class TicketStarted(_Event):
    type: Literal["ticket.started"] = "ticket.started"
    data: TicketPublic


class TicketCompleted(_Event):
    type: Literal["ticket.completed"] = "ticket.completed"
    data: TicketCompletedData


class TicketNoShow(_Event):
    type: Literal["ticket.no_show"] = "ticket.no_show"
    data: TicketPublic


class TicketTransferred(_Event):
    type: Literal["ticket.transferred"] = "ticket.transferred"
    data: TicketTransferredData


class TicketCancelled(_Event):
    type: Literal["ticket.cancelled"] = "ticket.cancelled"
    data: TicketPublic


class TicketRated(_Event):
    type: Literal["ticket.rated"] = "ticket.rated"
    data: TicketRatedData


class RatingRequested(_Event):
    type: Literal["rating.requested"] = "rating.requested"
    data: RatingRequestedData


class CounterUpdated(_Event):
    type: Literal["counter.updated"] = "counter.updated"
    data: CounterUpdatedData


class NoticeUpdated(_Event):
    type: Literal["notice.updated"] = "notice.updated"
    data: NoticeUpdatedData


class ServiceUpdated(_Event):
    type: Literal["service.updated"] = "service.updated"
    data: ServiceUpdatedData


class BoardUpdated(_Event):
    type: Literal["board.updated"] = "board.updated"
    data: BoardUpdatedData


class SlidesUpdated(_Event):
    type: Literal["slides.updated"] = "slides.updated"
    data: SlidesUpdatedData


AnyEvent = Annotated[
    TicketIssued
    | TicketCalled
    | TicketRecalled
    | TicketStarted
    | TicketCompleted
    | TicketNoShow
    | TicketTransferred
    | TicketCancelled
    | TicketRated
    | RatingRequested
    | CounterUpdated
    | NoticeUpdated
    | ServiceUpdated
    | BoardUpdated
    | SlidesUpdated,
    Field(discriminator="type"),
]
# The data class of each ticket event, for the producers that build them by type.
TICKET_DATA: dict[EventType, type[TicketPublic]] = {
    EventType.ticket_issued: TicketIssuedData,
    EventType.ticket_called: TicketCalledData,
    EventType.ticket_recalled: TicketRecalledData,
    EventType.ticket_started: TicketPublic,
    EventType.ticket_completed: TicketCompletedData,
    EventType.ticket_no_show: TicketPublic,
    EventType.ticket_transferred: TicketTransferredData,
    EventType.ticket_cancelled: TicketPublic,
}
EVENTS: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(wire: dict[str, Any]) -> AnyEvent:
    """An event as sent (`Event.wire()`, a WebSocket frame, a webhook body) read back."""
    return EVENTS.validate_python(wire)


D = TypeVar("D", bound=Wire)


class StoredEvent(Protocol):
    """An event row as read back: the ORM row (TicketEvent) or a plain row of its columns."""

    @property
    def type(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def data(self) -> dict[str, Any] | None: ...


def stored_event(row: StoredEvent) -> AnyEvent:
    """A stored event row as its typed model: the payload is parsed once, and readers use
    attributes (`event.data.number`) instead of `data.get("number")`."""
    return EVENTS.validate_python(
        {"type": row.type, "seq": row.seq, "at": utc(row.at), "data": row.data or {}}
    )


def stored_data(payload: str | dict[str, Any] | None, model: type[D]) -> D:
    """A stored event's payload as its data model, for a reader that knows the event's
    type (the statistics' fold): from the JSON text when the query read it as text
    (parsed and checked in one pass, pydantic-core's), else from the decoded column."""
    if isinstance(payload, str):
        return model.model_validate_json(payload)
    return model.model_validate(payload or {})


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

    def typed(self) -> AnyEvent:
        return parse_event(self.wire())

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
    data: Wire,
) -> Event:
    """Append one event row; it is published after the commit (see Store.write).
    `data` is the event's typed data (its class is checked against `type` by the union)."""
    seq = next_seq(session, branch)
    fields = data.wire()
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
            "data": fields,
        },
    )
    event = Event(branch=branch, type=str(type), seq=seq, at=now, data=fields)
    pending: list[Event] = session.info.setdefault("lobbyq_events", [])
    pending.append(event)
    return event


def pending_events(session: Session) -> list[Event]:
    events: list[Event] = session.info.pop("lobbyq_events", [])
    return events
