"""The tables. Only `server/` touches them.

Times are aware UTC datetimes (sqlmodel's UTCDateTime stores them and gives them
back as aware UTC on SQLite and Postgres alike)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """What we store: aware UTC (sqlmodel refuses naive datetimes)."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class TicketStatus(StrEnum):
    waiting = "waiting"
    called = "called"
    serving = "serving"
    completed = "completed"
    no_show = "no_show"
    cancelled = "cancelled"
    transferred = "transferred"


HELD = (TicketStatus.called, TicketStatus.serving)


class CounterState(StrEnum):
    open = "open"
    paused = "paused"
    closed = "closed"


class Role(StrEnum):
    teller = "teller"
    lobby = "lobby"  # 大堂经理: issues tickets for customers, moves waiting ones
    manager = "manager"
    admin = "admin"
    regional = "regional"  # read-only statistics and overview of its branches (API.md v1.1)


class Branch(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    name_zh: str
    name_en: str
    timezone: str
    reset_time: str = "00:00"
    event_seq: int = 0  # last event sequence number of this branch
    notice_zh: str = ""
    notice_en: str = ""


class Service(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("branch", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(foreign_key="branch.code", max_length=32)
    code: str = Field(max_length=32)
    prefix: str = Field(max_length=2)
    name_zh: str
    name_en: str
    target_wait_s: int
    open: bool = True
    position: int = 0  # order on the kiosk


class Counter(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("branch", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(foreign_key="branch.code", max_length=32)
    number: str = Field(max_length=32)
    name_zh: str
    name_en: str
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: CounterState = CounterState.closed
    username: str | None = None
    current_ticket_id: int | None = None
    consecutive_priority: int = 0
    state_since: datetime | None = None


class DailySequence(SQLModel, table=True):
    """The last number given per (branch, service, business day)."""

    branch: str = Field(primary_key=True, max_length=32)
    service: str = Field(primary_key=True, max_length=32)
    business_day: date = Field(primary_key=True)
    last: int = 0


class Ticket(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("branch", "service_seq_key", "business_day", "seq"),
        # Today's line of one service and class, in order (migration 0002).
        Index(
            "ix_ticket_line",
            "branch",
            "status",
            "business_day",
            "service",
            "priority",
            "enqueued_at",
            "number",
            "target_counter",
        ),
        # The latest completed tickets of a service (rolling mean service time).
        Index("ix_ticket_finished", "branch", "service", "status", "finished_at"),
        # The wait range's record: the latest calls (migration 0009).
        Index("ix_ticket_called", "branch", "called_at"),
        # The few tickets transferred to one counter (migration 0010).
        Index(
            "ix_ticket_sent",
            "branch",
            "target_counter",
            "status",
            "business_day",
            sqlite_where=text("target_counter IS NOT NULL"),
            postgresql_where=text("target_counter IS NOT NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, index=True, max_length=64)
    branch: str = Field(foreign_key="branch.code", max_length=32)
    business_day: date
    # The service whose daily sequence gave the number; `service` may change on transfer.
    service_seq_key: str = Field(max_length=32)
    seq: int
    number: str = Field(max_length=16)
    service: str = Field(max_length=32)
    priority: str = Field(default="normal", max_length=32)
    # An appointment ranks as such only from this moment (time - early window).
    priority_from: datetime | None = None
    status: TicketStatus = TicketStatus.waiting
    issued_at: datetime
    enqueued_at: datetime
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counter: str | None = None
    teller: str | None = None
    target_counter: str | None = None  # transferred to one counter
    recall_count: int = 0
    customer_ref: str | None = None
    appointment_id: int | None = None
    lang: str = "zh"
    estimated_wait_s: int | None = None  # as promised at issue, to measure against
    people_ahead_at_issue: int | None = None
    estimate_raw_s: int | None = None  # the played-forward estimate behind the promise (0009)
    rating: int | None = None  # the customer's (pad or phone), once (see server/devices)
    comment: str | None = None
    # Migration 0007: the reasons of a low rating, when it was given, and the figure a
    # teller typed at completion (v1 `complete {rating}`), kept but never counted.
    rating_reasons: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    rated_at: datetime | None = None
    teller_rating: int | None = None
    source: str = ""  # kiosk id or staff username
    notified_at: datetime | None = None  # the branch webhook was sent (migration 0003)


class TicketEvent(SQLModel, table=True):
    """Every change appends one row. Statistics come from here; nothing else is the truth."""

    __table_args__ = (
        UniqueConstraint("branch", "seq"),
        # A branch's events of a time range (the log path of reports; migration 0008).
        Index("ix_ticketevent_branch_at", "branch", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(max_length=32, index=True)
    seq: int
    type: str = Field(max_length=32)
    ticket_id: int | None = Field(default=None, index=True)
    counter: str | None = None
    teller: str | None = None
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=32)
    password_hash: str
    role: Role = Role.teller
    display_name: str = ""
    active: bool = True
    staff_no: str = ""  # migration 0007: on the counter sign and the rating pad
    photo: str = ""  # file name under <data_dir>/staff-photos, set by a manager
    # Raised to end every token the user holds (logout, new password or role, disabled):
    # a token carries the value it was issued with (server/auth.py).
    token_version: int = 0
    # A regional user's branches ("*": all); from the config or `create-user --branches`.
    branches: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=True))


class Appointment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("branch", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(foreign_key="branch.code", max_length=32)
    service: str = Field(max_length=32)
    at: datetime
    code: str = Field(max_length=32)
    customer_ref: str = ""
    customer_name: str = ""
    status: str = "booked"  # booked | checked_in | cancelled
    ticket_id: int | None = None
    created_at: datetime | None = None


class Board(SQLModel, table=True):
    """A TV information board of a branch (migration 0007): `rates` or `bulletin`."""

    branch: str = Field(primary_key=True, max_length=32)
    name: str = Field(primary_key=True, max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime | None = None
    updated_by: str = ""


class Slide(SQLModel, table=True):
    """An image the TVs rotate; the file is under <data_dir>/slides/<branch>/."""

    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(max_length=32, index=True)
    file: str = Field(max_length=64)
    media_type: str = Field(max_length=32)
    width: int
    height: int
    size: int
    created_at: datetime


class DeviceLink(SQLModel, table=True):
    """When a device (kiosk, TV, counter sign, rating pad, lobby tablet) was last
    connected. `open` counts the processes holding at least one of its sockets."""

    branch: str = Field(primary_key=True, max_length=32)
    device: str = Field(primary_key=True, max_length=80)
    kind: str = Field(max_length=16)
    open: int = 0
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None


class TicketFact(SQLModel, table=True):
    """One ticket folded from its events (server/stats/facts.py): written when the
    ticket ends (completed, no-show, cancelled, rated, reinstated) and for every
    ticket of a sealed day. Derived, never the truth: `lobbyq rebuild-facts` rewrites
    it from the event log (migration 0008)."""

    __tablename__ = "ticket_fact"
    __table_args__ = (Index("ix_ticket_fact_issued", "branch", "issued_at"),)
    ticket_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    branch: str = Field(max_length=32)
    number: str = Field(default="", max_length=16)
    issued_at: datetime
    enqueued_at: datetime
    issue_service: str = Field(max_length=32)
    service: str = Field(max_length=32)
    priority: str = Field(max_length=32)
    estimated_wait_s: int | None = None
    first_call_at: datetime | None = None
    wait_s: float | None = None
    outcome: str = Field(max_length=16)
    counter: str | None = Field(default=None, max_length=32)
    teller: str | None = Field(default=None, max_length=32)
    service_s: float | None = None
    transferred: bool = False
    transfer_wait_s: float | None = None
    recalls: int = 0
    rating: int | None = None


class FactDay(SQLModel, table=True):
    """A sealed business day of a branch: every ticket issued on it has its fact row,
    and these are the day's counts (a daily rollup). Days are sealed in order once no
    event can reach them any more (the day after next)."""

    __tablename__ = "fact_day"
    branch: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    sealed_at: datetime
    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    called: int = 0
    ratings: int = 0
    satisfied: int = 0


def now_utc() -> datetime:
    return datetime.now(UTC)
