"""HTTP of online bookings and the opinion book (API.md v1.1, docs/api-extensions.md).

Thin: parse, call server/customer/booking.py or opinions.py, return. The public routes
count against a per-address limit (server/customer/limits.py) before any work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from server.api.deps import (
    Manager,
    OptionalPrincipal,
    RowId,
    Staff,
    StoreDep,
    base_url,
    check_branch,
)
from server.auth import Principal
from server.config import BranchSettings
from server.customer import booking as booking_rules
from server.customer import opinions as opinion_rules
from server.customer.answers import (
    BookingArrival,
    BookingBlockOut,
    BookingCalendarOut,
    BookingOptionsOut,
    BookingPublic,
    DayBookingsOut,
    DeletedOut,
    OpinionCategory,
    OpinionDetail,
    OpinionPublic,
    OpinionRow,
    OpinionSummaryOut,
    SlotOut,
)
from server.customer.appointments import parse_when
from server.errors import Forbidden, InvalidInput, NotFound
from server.models import Ticket
from server.public import Names
from server.store import Store

# Included by server/customer/routes.py under /api/v1.
router = APIRouter(tags=["bookings and opinions"])


def limit(store: Store, request: Request, kind: str, *, write: bool = True) -> None:
    client = request.client.host if request.client else "unknown"
    store.public_limiter.hit(client, kind, write=write)


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(max_length=32)
    at: str = Field(max_length=40, description="slot start, ISO; no offset: branch-local")
    name: str = Field(max_length=200)
    phone: str = Field(max_length=40)
    lang: str = Field(default="zh", max_length=5)


class OpinionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=32)
    text: str = Field(max_length=2000)
    contact: str = Field(default="", max_length=400)
    ticket_token: str | None = Field(default=None, max_length=200)
    source: str = Field(default="web", max_length=16, description="mobile, book or web")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4000)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(max_length=32)


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    at: str | None = Field(default=None, max_length=40, description="a slot; none: the day")
    reason: str = Field(default="", max_length=800)


def _day(value: date | None, settings: BranchSettings, now: datetime) -> date:
    """The day asked for; by default the business day at `now` (read once per request)."""
    day = value or booking_rules.today(settings, now)
    if not 2000 <= day.year <= 2100:
        raise InvalidInput("date: a day between 2000 and 2100", code="invalid_day")
    return day


# -- public: booking ------------------------------------------------------------------------


@router.get("/branches/{branch}/booking", response_model=BookingOptionsOut)
def booking_options(branch: str, store: StoreDep) -> BookingOptionsOut:
    """What the booking page offers: bookable services and days."""
    settings = store.branch(branch)
    booking = booking_rules.settings_of(settings)
    now = store.now()
    return BookingOptionsOut(
        branch=settings.code,
        branch_name=Names.of(settings.name),
        days_ahead=booking.days_ahead,
        slot_min=booking.slot_min,
        per_phone_per_day=booking.per_phone_per_day,
        services=booking_rules.bookable_offer(settings),
        days=[d.isoformat() for d in booking_rules.booking_days(settings, now)],
    )


@router.get("/branches/{branch}/booking/slots", response_model=list[SlotOut])
async def booking_slots(
    branch: str,
    request: Request,
    store: StoreDep,
    service: str = Query(max_length=32),
    date: date = Query(),
) -> list[SlotOut]:
    """Read on every view of the booking page: on SQLite it runs on the loop, as issuing
    does (`Store.run`), instead of a thread-pool hop."""
    limit(store, request, "slots", write=False)
    return await store.run(_slots, store, branch, service, date)


def _slots(store: Store, branch: str, service: str, day: date) -> list[SlotOut]:
    settings = store.branch(branch)
    with store.read() as session:
        found = booking_rules.slots(
            session=session, branch=settings, service=service, day=day, now=store.now()
        )
    return [slot.public() for slot in found]


@router.post(
    "/branches/{branch}/bookings",
    status_code=status.HTTP_201_CREATED,
    response_model=BookingPublic,
)
def create_booking(
    branch: str, body: BookingIn, request: Request, store: StoreDep
) -> BookingPublic:
    """`{code, at, service, manage_url}` and what the confirmation page shows."""
    limit(store, request, "booking")
    settings = store.branch(branch)
    now = store.now()
    with store.write() as session:
        made = booking_rules.book(
            session=session,
            branch=settings,
            service=body.service,
            at=parse_when(body.at, settings),
            name=body.name,
            phone=body.phone,
            lang=body.lang,
            now=now,
        )
        return booking_rules.public_data(session, settings, made, now, base_url(request, store))


@router.get("/bookings/{token}", response_model=BookingPublic)
def get_booking(token: str, request: Request, store: StoreDep) -> BookingPublic:
    limit(store, request, "lookup", write=False)
    with store.read() as session:
        found = booking_rules.by_token(session, token)
        settings = store.branch(found.branch)
        return booking_rules.public_data(
            session, settings, found, store.now(), base_url(request, store)
        )


@router.delete("/bookings/{token}", response_model=BookingPublic)
def cancel_booking(token: str, request: Request, store: StoreDep) -> BookingPublic:
    limit(store, request, "booking")
    now = store.now()
    with store.write() as session:
        found = booking_rules.by_token(session, token)
        settings = store.branch(found.branch)
        booking_rules.cancel(session=session, branch=settings, booking=found, now=now)
        return booking_rules.public_data(session, settings, found, now, base_url(request, store))


# -- arrival: the kiosk, the lobby ----------------------------------------------------------


def _kiosk_or_staff(principal: Principal | None, branch: str) -> Principal:
    if principal is None or principal.kind not in ("kiosk", "user"):
        raise Forbidden("the kiosk and staff only", code="kiosk_or_staff_only")
    check_branch(principal, branch)
    return principal


@router.get("/branches/{branch}/bookings/arrivals", response_model=list[BookingArrival])
def arrivals(
    branch: str,
    store: StoreDep,
    principal: OptionalPrincipal,
    last4: str = Query(max_length=8),
) -> list[BookingArrival]:
    """The kiosk's check-in by phone: this hour's bookings whose phone ends in `last4`,
    names masked; the customer picks theirs and the kiosk checks in with its code."""
    _kiosk_or_staff(principal, branch)
    settings = store.branch(branch)
    with store.read() as session:
        return booking_rules.arrivals_by_last4(
            session=session, branch=settings, last4=last4, now=store.now()
        )


@router.get("/branches/{branch}/bookings", response_model=DayBookingsOut)
def day_bookings(
    branch: str, store: StoreDep, principal: Staff, date: date | None = Query(default=None)
) -> DayBookingsOut:
    """The lobby tablet's list: expected, arrived (with the ticket), missed, cancelled."""
    check_branch(principal, branch)
    settings = store.branch(branch)
    now = store.now()
    day = _day(date, settings, now)
    with store.read() as session:
        rows = booking_rules.day_bookings(session=session, branch=settings, day=day, now=now)
    counts = {
        s: sum(1 for r in rows if r.status == s)
        for s in ("expected", "arrived", "missed", "cancelled")
    }
    return DayBookingsOut(date=day.isoformat(), counts=counts, bookings=rows)


# -- the manager: calendar, blocks, export --------------------------------------------------


@router.get("/branches/{branch}/bookings/calendar", response_model=BookingCalendarOut)
def booking_calendar(
    branch: str, store: StoreDep, principal: Manager, date: date | None = Query(default=None)
) -> BookingCalendarOut:
    del principal
    settings = store.branch(branch)
    now = store.now()
    day = _day(date, settings, now)
    with store.read() as session:
        return booking_rules.calendar(session=session, branch=settings, day=day, now=now)


@router.get("/branches/{branch}/bookings.csv")
def bookings_csv(
    branch: str, store: StoreDep, principal: Manager, date: date | None = Query(default=None)
) -> Response:
    """UTF-8 with a BOM (Excel opens it with the Chinese intact); phones masked."""
    del principal
    settings = store.branch(branch)
    now = store.now()
    day = _day(date, settings, now)
    with store.read() as session:
        rows = booking_rules.day_bookings(session=session, branch=settings, day=day, now=now)
    return csv_response(booking_rules.bookings_csv(settings, rows), f"bookings-{branch}-{day}.csv")


def csv_response(text: str, filename: str) -> Response:
    return Response(
        ("\ufeff" + text).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/branches/{branch}/booking/blocks",
    status_code=status.HTTP_201_CREATED,
    response_model=BookingBlockOut,
)
def block_booking(
    branch: str, body: BlockIn, store: StoreDep, principal: Manager
) -> BookingBlockOut:
    settings = store.branch(branch)
    with store.write() as session:
        row = booking_rules.block(
            session=session,
            branch=settings,
            day=body.date,
            at=parse_when(body.at, settings) if body.at else None,
            reason=body.reason,
            username=principal.name,
            now=store.now(),
        )
        return booking_rules.block_data(row, settings)


@router.delete("/branches/{branch}/booking/blocks/{block_id}", response_model=DeletedOut)
def unblock_booking(
    branch: str, block_id: RowId, store: StoreDep, principal: Manager
) -> DeletedOut:
    del principal
    settings = store.branch(branch)
    with store.write() as session:
        booking_rules.unblock(session=session, branch=settings, block_id=block_id)
    return DeletedOut(deleted=block_id)


# -- the opinion book -----------------------------------------------------------------------


@router.post(
    "/branches/{branch}/opinions",
    status_code=status.HTTP_201_CREATED,
    response_model=OpinionPublic,
)
def create_opinion(
    branch: str, body: OpinionIn, request: Request, store: StoreDep, principal: OptionalPrincipal
) -> OpinionPublic:
    """Public (rate-limited per address) and the kiosk: `{code, follow_url}`."""
    from_kiosk = principal is not None and principal.kind == "kiosk"
    if from_kiosk:
        assert principal is not None
        check_branch(principal, branch)
    else:
        limit(store, request, "opinion")
    settings = store.branch(branch)
    source = "kiosk" if from_kiosk else body.source
    if source not in ("kiosk", "mobile", "book", "web"):
        source = "web"
    now = store.now()
    with store.write() as session:
        ticket = None
        if body.ticket_token:
            ticket = session.exec(select(Ticket).where(Ticket.token == body.ticket_token)).first()
            if ticket is None or ticket.branch != branch:
                raise NotFound("no such ticket", code="ticket_not_found")
        opinion = opinion_rules.open_opinion(
            session=session,
            branch=settings,
            category=body.category,
            text=body.text,
            contact=body.contact,
            source=source,
            ticket=ticket,
            now=now,
        )
        return opinion_rules.public_data(settings, opinion, base_url(request, store))


@router.get("/opinions/{token}", response_model=OpinionPublic)
def follow_opinion(token: str, request: Request, store: StoreDep) -> OpinionPublic:
    limit(store, request, "lookup", write=False)
    with store.read() as session:
        opinion = opinion_rules.by_token(session, token)
        return opinion_rules.public_data(
            store.branch(opinion.branch), opinion, base_url(request, store)
        )


@router.get("/branches/{branch}/opinions", response_model=list[OpinionRow])
def opinion_book(
    branch: str,
    store: StoreDep,
    principal: Manager,
    status: str | None = Query(default=None, max_length=32),
) -> list[OpinionRow]:
    del principal
    settings = store.branch(branch)
    with store.read() as session:
        return opinion_rules.inbox(session=session, branch=settings, status=status, now=store.now())


@router.get("/branches/{branch}/opinions/summary", response_model=OpinionSummaryOut)
def opinion_summary(
    branch: str,
    store: StoreDep,
    principal: Manager,
    months: int = Query(default=12, ge=1, le=36),
) -> OpinionSummaryOut:
    """Monthly counts by category, counts by status, and the overdue alerts."""
    del principal
    settings = store.branch(branch)
    now = store.now()
    with store.read() as session:
        counts = opinion_rules.monthly_counts(
            session=session,
            branch=settings,
            months=opinion_rules.last_months(settings, now, months),
        )
        alerts = opinion_rules.overdue_alerts(session=session, branch=settings, now=now)
        by_status = opinion_rules.status_counts(session=session, branch=settings)
    return OpinionSummaryOut(
        categories=[
            OpinionCategory(code=c, name=Names(**opinion_rules.CATEGORY_NAMES[c]))
            for c in opinion_rules.CATEGORIES
        ],
        months=counts,
        by_status=by_status,
        overdue=alerts,
        reply_business_days=settings.opinions.reply_business_days,
    )


@router.get("/branches/{branch}/opinions.csv")
def opinions_csv(
    branch: str,
    store: StoreDep,
    principal: Manager,
    months: int = Query(default=12, ge=1, le=36),
) -> Response:
    del principal
    settings = store.branch(branch)
    with store.read() as session:
        counts = opinion_rules.monthly_counts(
            session=session,
            branch=settings,
            months=opinion_rules.last_months(settings, store.now(), months),
        )
    return csv_response(opinion_rules.counts_csv(counts), f"opinions-{branch}.csv")


@router.get("/branches/{branch}/opinions/{opinion_id}", response_model=OpinionDetail)
def opinion_detail(
    branch: str, opinion_id: RowId, store: StoreDep, principal: Manager
) -> OpinionDetail:
    """The one view with the contact whole; the reading is recorded."""
    settings = store.branch(branch)
    now = store.now()
    with store.write() as session:
        opinion = opinion_rules.get(session, settings, opinion_id)
        opinion_rules.read_detail(
            session=session, opinion=opinion, username=principal.name, now=now
        )
        session.flush()
        return opinion_rules.detail_data(session, settings, opinion, now)


def _change_opinion(
    store: Store,
    branch: str,
    opinion_id: RowId,
    change: Callable[..., object],
    principal: Principal,
    **fields: str,
) -> OpinionRow:
    """One manager action on an opinion (`opinion_rules.reply`, `.set_status`) in one
    commit, by `principal`; answers the opinion's inbox view."""
    settings = store.branch(branch)
    now = store.now()
    with store.write() as session:
        opinion = opinion_rules.get(session, settings, opinion_id)
        change(session=session, opinion=opinion, username=principal.name, now=now, **fields)
        return opinion_rules.inbox_data(settings, opinion, now)


@router.post("/branches/{branch}/opinions/{opinion_id}/reply", response_model=OpinionRow)
def reply_opinion(
    branch: str, opinion_id: RowId, body: ReplyIn, store: StoreDep, principal: Manager
) -> OpinionRow:
    return _change_opinion(
        store, branch, opinion_id, opinion_rules.reply, principal, text=body.text
    )


@router.put("/branches/{branch}/opinions/{opinion_id}/status", response_model=OpinionRow)
def opinion_status(
    branch: str, opinion_id: RowId, body: StatusIn, store: StoreDep, principal: Manager
) -> OpinionRow:
    return _change_opinion(
        store, branch, opinion_id, opinion_rules.set_status, principal, status=body.status
    )
