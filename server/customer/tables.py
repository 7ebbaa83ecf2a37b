"""Tables of online bookings and the opinion book (migration 0006).

A booking feeds the existing appointment model: each booking owns one `Appointment`
(same code), so the kiosk's check-in, the early/late windows and the ordering rules
apply unchanged. What only a booking has (the phone, the manage token, the reminder)
lives here. Capacity is counted in `BookingSlot.used` and the per-phone limit in
`BookingPhoneDay.used`, each taken by one conditional upsert: of two requests for the
last place exactly one gets a row back.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class BookingStatus(StrEnum):
    booked = "booked"
    cancelled = "cancelled"


class Booking(SQLModel, table=True):
    __table_args__ = (
        Index("ix_booking_day", "branch", "day", "at"),
        Index("ix_booking_last4", "branch", "phone_last4", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(max_length=32)
    service: str = Field(max_length=32)
    at: datetime
    day: date  # branch-local day of `at`
    code: str = Field(max_length=32)
    appointment_id: int = Field(index=True)
    name: str = Field(max_length=40)
    phone: str = Field(max_length=11)  # full: the SMS gateway needs it; shown masked
    phone_last4: str = Field(max_length=4)
    manage_token: str = Field(unique=True, max_length=64)
    status: BookingStatus = BookingStatus.booked
    lang: str = Field(default="zh", max_length=2)
    created_at: datetime
    cancelled_at: datetime | None = None
    reminded_at: datetime | None = None


class BookingSlot(SQLModel, table=True):
    """Places taken in one slot of one service."""

    branch: str = Field(primary_key=True, max_length=32)
    service: str = Field(primary_key=True, max_length=32)
    at: datetime = Field(primary_key=True)
    used: int = 0


class BookingPhoneDay(SQLModel, table=True):
    """Live bookings of one phone for one branch-local day."""

    branch: str = Field(primary_key=True, max_length=32)
    phone: str = Field(primary_key=True, max_length=11)
    day: date = Field(primary_key=True)
    used: int = 0


class BookingBlock(SQLModel, table=True):
    """A slot (`at` set) or a whole day (`at` empty) closed to new bookings."""

    __table_args__ = (Index("ix_booking_block_day", "branch", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(max_length=32)
    day: date
    at: datetime | None = None
    reason: str = Field(default="", max_length=200)
    created_by: str = Field(default="", max_length=32)
    created_at: datetime


class OpinionStatus(StrEnum):
    new = "new"
    in_progress = "in_progress"
    replied = "replied"
    closed = "closed"


class Opinion(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("branch", "code"),
        Index("ix_opinion_status", "branch", "status", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(max_length=32)
    code: str = Field(max_length=16)
    follow_token: str = Field(unique=True, max_length=64)
    category: str = Field(max_length=16)
    text: str = Field(max_length=500)
    contact: str = Field(default="", max_length=100)
    source: str = Field(default="", max_length=16)  # kiosk | mobile | book | rating | web
    ticket_id: int | None = None
    ticket_number: str = Field(default="", max_length=16)
    counter: str = Field(default="", max_length=32)
    rating: int | None = None
    status: OpinionStatus = OpinionStatus.new
    created_at: datetime
    reply: str = Field(default="", max_length=1000)
    replied_at: datetime | None = None
    replied_by: str = Field(default="", max_length=32)


class OpinionAudit(SQLModel, table=True):
    """Who read, replied to or moved an opinion, and when."""

    id: int | None = Field(default=None, primary_key=True)
    opinion_id: int = Field(index=True)
    branch: str = Field(max_length=32)
    action: str = Field(max_length=16)  # read | reply | status
    username: str = Field(max_length=32)
    at: datetime
    detail: str = Field(default="", max_length=32)
