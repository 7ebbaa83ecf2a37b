"""The public shapes of a ticket and a counter (API.md), shared by the events, the
answers of the API and the kiosk: one way a row becomes JSON."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer

from server.models import HELD, Counter, Ticket, utc

if TYPE_CHECKING:
    from server.config import Name


def iso(value: datetime | None) -> str | None:
    """A moment as API.md writes it: ISO 8601 with the UTC offset (`+00:00`)."""
    aware = utc(value)
    return aware.isoformat() if aware else None


def _iso_required(value: datetime) -> str:
    text = iso(value)
    assert text is not None
    return text


# pydantic would write UTC as `Z`; the wire has always said `+00:00`.
IsoTime = Annotated[datetime, PlainSerializer(_iso_required, return_type=str)]


class Wire(BaseModel):
    """A shape on the wire: only the fields set are written, so a field that an event
    of one kind carries and another does not stays absent, as before."""

    model_config = ConfigDict(extra="forbid")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class Names(Wire):
    zh: str
    en: str

    @classmethod
    def of(cls, name: Name) -> Names:
        """A configured name (a branch's, a service's) as it goes on the wire."""
        return cls(zh=name.zh, en=name.en)


class TicketPublic(Wire):
    """A ticket as every event about it carries it."""

    id: int | None
    number: str
    service: str
    priority: str
    status: str
    counter: str | None
    teller: str | None
    issued_at: IsoTime | None
    enqueued_at: IsoTime | None
    called_at: IsoTime | None

    @classmethod
    def fields_of(cls, ticket: Ticket) -> dict[str, Any]:
        return {
            "id": ticket.id,
            "number": ticket.number,
            "service": ticket.service,
            "priority": ticket.priority,
            "status": str(ticket.status),
            "counter": ticket.counter,
            "teller": ticket.teller,
            "issued_at": utc(ticket.issued_at),
            "enqueued_at": utc(ticket.enqueued_at),
            "called_at": utc(ticket.called_at),
        }


class CounterPublic(Wire):
    number: str
    name: Names
    state: str
    username: str | None
    services: list[str]
    current: str | None

    @classmethod
    def fields_of(cls, counter: Counter, current: Ticket | None) -> dict[str, Any]:
        return {
            "number": counter.number,
            "name": Names(zh=counter.name_zh, en=counter.name_en),
            "state": str(counter.state),
            "username": counter.username,
            "services": list(counter.services),
            "current": current.number if current is not None and current.status in HELD else None,
        }

    @classmethod
    def of(cls, counter: Counter, current: Ticket | None) -> CounterPublic:
        return cls(**cls.fields_of(counter, current))
