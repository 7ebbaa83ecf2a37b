"""Request and response bodies of the v1 API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.public import CounterPublic, Names, Wire

CODE = r"^[A-Za-z0-9_-]{1,32}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: str
    username: str
    expires_in: int


class TicketCreate(Body):
    service: str = Field(pattern=CODE)
    priority: str = Field(default="normal", pattern=CODE)
    customer_ref: str | None = Field(default=None, min_length=1, max_length=64)
    appointment_code: str | None = Field(default=None, min_length=1, max_length=32)
    lang: Literal["zh", "en"] = "zh"
    print: bool = True


class TicketOut(BaseModel):
    id: int
    token: str
    number: str
    service: str
    priority: str
    status: str
    issued_at: str
    enqueued_at: str
    called_at: str | None
    counter: str | None
    position: int | None
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None = None
    track_url: str
    notice: str | None = None
    service_name: dict[str, str] | None = None
    print: dict[str, Any] | None = None


class CounterOut(BaseModel):
    """A counter's answer to open, pause, resume and close."""

    counter: CounterPublic


class PublicTicket(BaseModel):
    number: str
    service: str
    service_name: dict[str, str]
    status: str
    position: int | None
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None = None
    counter: str | None
    counter_name: dict[str, str] | None = None
    issued_at: str
    called_at: str | None
    rating: int | None = None


class CallNumberIn(Body):
    number: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")


class CompleteIn(Body):
    rating: int | None = Field(default=None, ge=1, le=5)


class TransferIn(Body):
    service: str | None = Field(default=None, pattern=CODE)
    counter: str | None = Field(default=None, pattern=CODE)
    keep_place: bool = True


class NoticeIn(Body):
    zh: str = Field(default="", max_length=500)
    en: str = Field(default="", max_length=500)


class ServiceStateIn(Body):
    open: bool


# --- answers (issue 13: every JSON route declares its shape) ----------------------------
# Built from the same dicts the routes always returned: extra="forbid" (Wire) makes a key
# the model lacks a 500 in the tests instead of a field silently dropped from the wire.


class DeviceSessionOut(Wire):
    kind: str
    name: str
    branch: str | None


class OkOut(Wire):
    ok: bool


class MeOut(Wire):
    kind: str
    name: str
    role: str | None
    branch: str | None


class BranchOut(Wire):
    code: str
    name: Names
    timezone: str


class ServiceOverview(Wire):
    """`GET /services`: a service as the kiosk shows it, with a new ticket's promise."""

    code: str
    prefix: str
    name: Names
    open: bool
    waiting: int
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None
    target_wait_s: int


class WaitingInLine(Wire):
    number: str
    priority: str
    enqueued_at: str | None
    target_counter: str | None


class ServiceLine(Wire):
    code: str
    prefix: str
    name: Names
    open: bool
    target_wait_s: int
    waiting: list[WaitingInLine]


class BranchName(Wire):
    code: str
    name: Names


class RecentCall(Wire):
    number: str | None
    counter: str | None
    counter_name: Names | None
    service: str | None
    called_at: str | None
    recall: bool


class QueueOut(Wire):
    """`GET /queue`: the snapshot a TV or the dashboard starts from."""

    seq: int
    branch: BranchName
    notice: Names
    business_day: str
    next_day_at: str
    services: list[ServiceLine]
    counters: list[CounterPublic]
    recent_calls: list[RecentCall]


class TicketActionOut(Wire):
    """A teller's action on a ticket (call, recall, start, complete, no-show, transfer)."""

    ticket: TicketOut


class CounterListed(CounterPublic):
    """A counter in the free-counter picker: who holds it."""

    teller_name: str | None
    free: bool


class CounterHeld(CounterPublic):
    teller_name: str | None


class CurrentTicket(Wire):
    id: int | None
    number: str
    service: str
    service_name: Names
    priority: str
    priority_name: Names
    status: str
    issued_at: str | None
    enqueued_at: str | None
    called_at: str | None
    started_at: str | None
    recall_count: int
    waited_s: int | None


class CounterWaiting(Wire):
    number: str
    service: str
    priority: str
    priority_name: Names
    enqueued_at: str | None
    waited_s: int
    escalated: bool
    target_counter: str | None
    recall_count: int


class YouOut(Wire):
    username: str
    display_name: str


class ServedFigures(Wire):
    served: int
    service_avg_s: int | None


class TodayFigures(Wire):
    counter: ServedFigures
    teller: ServedFigures


class CounterSummaryOut(Wire):
    """What the teller page shows (`GET /counters/{counter}/summary`)."""

    seq: int
    now: str
    business_day: str
    counter: CounterHeld
    state_since: str | None
    mine: bool
    you: YouOut
    current: CurrentTicket | None
    today: TodayFigures
    waiting: list[CounterWaiting]
    ratings_enabled: bool
    recalls_before_no_show: int
    no_show_grace_min: int | float


class HealthOut(Wire):
    """`GET /health`. The hub's and the printers' sections are their ports' own reports
    (in-memory or Redis hub; kiosk/printing), passed through as they are."""

    status: str
    database: str
    hub: dict[str, Any]
    websocket_clients: int
    printers: dict[str, Any] | None = None
