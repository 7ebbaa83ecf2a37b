"""The shapes the customer module's routes answer (appointments, feedback): OpenAPI
shows them, and a field the dicts carry but a model lacks fails the tests (Wire:
extra="forbid") instead of vanishing from the wire."""

from __future__ import annotations

from server.public import Names, Wire


class AppointmentOut(Wire):
    code: str
    service: str
    at: str
    customer_ref: str
    customer_name: str
    status: str
    ticket_id: int | None


class ImportedRow(AppointmentOut):
    row: int


class RejectedRow(Wire):
    row: int
    reason: str
    code: str | None = None


class ImportReportOut(Wire):
    accepted: int
    rejected: int
    appointments: list[ImportedRow]
    errors: list[RejectedRow]


class FeedbackOut(Wire):
    number: str
    rating: int | None
    comment: str | None


# -- online bookings (API.md v1.1, docs/api-extensions.md) ----------------------------------


class BookableService(Wire):
    code: str
    name: Names
    capacity: int


class BookingOptionsOut(Wire):
    branch: str
    branch_name: Names
    days_ahead: int
    slot_min: int
    per_phone_per_day: int
    services: list[BookableService]
    days: list[str]


class SlotOut(Wire):
    at: str
    remaining: int


class BookingPublic(Wire):
    """What the customer sees of a booking: the phone masked, the manage address to keep."""

    code: str
    branch: str
    branch_name: Names
    service: str
    service_name: Names | None
    at: str
    ends_at: str
    name: str
    phone: str
    status: str
    can_cancel: bool
    manage_url: str
    qr_url: str
    ics_url: str
    qr_text: str
    # Config floats: an int in the TOML stays an int on the wire.
    early_min: int | float
    late_min: int | float


class BookingArrival(Wire):
    code: str
    name: str
    at: str
    service: str
    service_name: Names | None


class DayBooking(Wire):
    code: str
    at: str
    service: str
    name: str
    phone: str
    status: str
    ticket: str | None
    ticket_priority: str | None


class DayBookingsOut(Wire):
    date: str
    counts: dict[str, int]
    bookings: list[DayBooking]


class BookingBlockOut(Wire):
    id: int | None
    date: str
    at: str | None
    reason: str
    created_by: str


class CalendarSlot(Wire):
    at: str
    blocked: bool
    used: dict[str, int]


class BookingCalendarOut(Wire):
    date: str
    slot_min: int
    services: list[BookableService]
    day_blocked: bool
    blocks: list[BookingBlockOut]
    slots: list[CalendarSlot]


class DeletedOut(Wire):
    deleted: int


# -- the opinion book -----------------------------------------------------------------------


class OpinionPublic(Wire):
    """What the customer sees on /opinion/{token}: the contact masked."""

    code: str
    branch: str
    branch_name: Names
    category: str
    category_name: Names
    text: str
    contact: str
    status: str
    status_name: Names
    created_at: str | None
    reply: str | None
    replied_at: str | None
    follow_url: str


class OpinionRow(Wire):
    """The manager's row: masked contact in the list, whole in the detail."""

    id: int | None
    code: str
    category: str
    category_name: Names
    text: str
    contact: str
    source: str
    ticket: str | None
    counter: str | None
    rating: int | None
    status: str
    created_at: str | None
    reply_due: str
    overdue: bool
    reply: str | None
    replied_at: str | None
    replied_by: str | None


class OpinionAction(Wire):
    action: str
    username: str
    at: str | None
    detail: str


class OpinionDetail(OpinionRow):
    history: list[OpinionAction]


class OpinionAlert(Wire):
    id: int | None
    code: str
    category: str
    created_at: str | None
    text: Names


class OpinionMonth(Wire):
    month: str
    total: int
    by_category: dict[str, int]
    unanswered: int


class OpinionCategory(Wire):
    code: str
    name: Names


class OpinionSummaryOut(Wire):
    categories: list[OpinionCategory]
    months: list[OpinionMonth]
    by_status: dict[str, int]
    overdue: list[OpinionAlert]
    reply_business_days: int
