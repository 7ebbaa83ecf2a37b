"""Online bookings (网上预约): the slots of a day, booking, seeing and cancelling one.

A slot is `slot_min` long and starts at the branch's opening time; the last one ends
by closing time (or the service's last-ticket time). Holidays and special days (调休)
come from `[branches.hours]` through `HoursSettings.span_for`, as the kiosk's do.

Each booking owns an `Appointment` with the same code: check-in at the kiosk, the
early and late windows and the ordering are the appointment rules, written once in
server/customer/appointments.py and server/queue/tickets.py.

Capacity and the per-phone limit are counters taken by one upsert each:
`INSERT ... ON CONFLICT DO UPDATE SET used = used + 1 WHERE used < limit RETURNING used`.
No row back means full. On Postgres the second of two transactions waits on the row
lock and re-reads `used`; on SQLite writes are serial. Either way exactly one gets
the last place, and a failed claim rolls the whole booking back.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from server.config import BookingSettings, BranchSettings, ServiceSettings
from server.customer import appointments
from server.customer.answers import (
    BookableService,
    BookingArrival,
    BookingBlockOut,
    BookingCalendarOut,
    BookingPublic,
    CalendarSlot,
    DayBooking,
    SlotOut,
)
from server.customer.privacy import mask_name, mask_phone, normalize_phone, public_text
from server.customer.tables import (
    Booking,
    BookingBlock,
    BookingPhoneDay,
    BookingSlot,
    BookingStatus,
)
from server.db import connection_of
from server.errors import Conflict, InvalidInput, NotFound
from server.models import Appointment, Ticket, as_utc, utc
from server.public import Names
from server.queue.calendar import business_day

MAX_NAME = 20
_SLOT = BookingSlot.__table__  # type: ignore[attr-defined]
_PHONE_DAY = BookingPhoneDay.__table__  # type: ignore[attr-defined]
_CLAIMS: dict[tuple[str, str], Any] = {}


def settings_of(branch: BranchSettings) -> BookingSettings:
    if branch.booking is None:
        raise NotFound(
            "本网点不提供网上预约。This branch takes no online bookings.", code="booking_disabled"
        )
    return branch.booking


def bookable_services(branch: BranchSettings) -> list[ServiceSettings]:
    if branch.booking is None:
        return []
    return [s for s in branch.services if branch.booking.capacity.get(s.code, 0) > 0]


def _bookable(branch: BranchSettings, code: str) -> tuple[ServiceSettings, int]:
    settings = settings_of(branch)
    service = branch.service(code)
    capacity = settings.capacity.get(code, 0)
    if service is None or capacity <= 0:
        raise InvalidInput(f"service {code!r} cannot be booked", code="service_not_bookable")
    return service, capacity


def slot_times(branch: BranchSettings, service: ServiceSettings, day: date) -> list[datetime]:
    """Every slot start of a day (local, aware), before any booking or block."""
    settings = settings_of(branch)
    span = branch.hours.span_for(day) if branch.hours is not None else settings.hours_span
    if span is None:
        return []
    opens, closes = span
    if service.last_ticket_at is not None:
        closes = min(closes, service.last_ticket_at)
    step = timedelta(minutes=settings.slot_min)
    start = datetime.combine(day, opens, tzinfo=branch.zone)
    end = datetime.combine(day, closes, tzinfo=branch.zone)
    out = []
    while start + step <= end:
        out.append(start)
        start += step
    return out


def booking_days(branch: BranchSettings, now: datetime) -> list[date]:
    """Days a customer may pick: today to today + days_ahead, with opening hours."""
    settings = settings_of(branch)
    today = now.astimezone(branch.zone).date()
    days = [today + timedelta(days=n) for n in range(settings.days_ahead + 1)]
    if branch.hours is None:
        return days
    return [d for d in days if branch.hours.span_for(d) is not None]


def check_day(branch: BranchSettings, day: date, now: datetime) -> None:
    settings = settings_of(branch)
    today = now.astimezone(branch.zone).date()
    if not today <= day <= today + timedelta(days=settings.days_ahead):
        raise InvalidInput(
            f"可预约今天起{settings.days_ahead}天内。"
            f"Bookings are taken up to {settings.days_ahead} days ahead.",
            code="day_out_of_range",
        )


@dataclass(frozen=True)
class Slot:
    at: datetime  # local, aware
    remaining: int

    def public(self) -> SlotOut:
        return SlotOut(at=self.at.isoformat(), remaining=self.remaining)


def _blocks(session: Session, branch: str, day: date) -> list[BookingBlock]:
    return list(
        session.exec(
            select(BookingBlock).where(
                col(BookingBlock.branch) == branch, col(BookingBlock.day) == day
            )
        ).all()
    )


_BLOCK = BookingBlock.__table__  # type: ignore[attr-defined]
# Prebuilt Core statements: the slots of a day are read on every page view, and
# building an ORM query cost more than running it (bench/bench_booking.py).
_BLOCKED = sa_select(_BLOCK.c.at).where(
    _BLOCK.c.branch == bindparam("branch"), _BLOCK.c.day == bindparam("day")
)


def blocked_times(session: Session, branch: str, day: date) -> set[datetime | None]:
    """The blocked slot starts of a day (UTC); None in the set: the whole day."""
    rows = connection_of(session).execute(_BLOCKED, {"branch": branch, "day": day})
    return {at for (at,) in rows}


def _blocked(blocks: set[datetime | None], at: datetime) -> bool:
    return None in blocks or at in blocks


_USED = sa_select(_SLOT.c.at, _SLOT.c.used).where(
    _SLOT.c.branch == bindparam("branch"),
    _SLOT.c.service == bindparam("service"),
    _SLOT.c.at >= bindparam("start"),
    _SLOT.c.at < bindparam("end"),
)


def used_places(
    session: Session, branch: str, service: str, start: datetime, end: datetime
) -> dict[datetime, int]:
    rows = connection_of(session).execute(
        _USED,
        {"branch": branch, "service": service, "start": as_utc(start), "end": as_utc(end)},
    )
    # Keys as read (aware UTC): an aware datetime equals and hashes as the same instant
    # in any zone, so a caller looks a local slot start up directly.
    return {at: int(used) for at, used in rows}


def slots(
    *, session: Session, branch: BranchSettings, service: str, day: date, now: datetime
) -> list[Slot]:
    """The slots of a day still ahead and not blocked, each with its places left (0
    when full: the page shows it greyed rather than hiding it)."""
    settings, capacity = _bookable(branch, service)
    check_day(branch, day, now)
    times = [t for t in slot_times(branch, settings, day) if t > now]
    if not times:
        return []
    blocks = blocked_times(session, branch.code, day)
    used = used_places(session, branch.code, service, times[0], times[-1] + timedelta(seconds=1))
    return [
        Slot(at=t, remaining=max(0, capacity - used.get(t, 0)))
        for t in times
        if not _blocked(blocks, t)
    ]


def _claim_statement(dialect: str, table: Any, keys: tuple[str, ...]) -> Any:
    """INSERT used=1, or used + 1 while under the limit; RETURNING used (none: full)."""
    cached = _CLAIMS.get((dialect, table.name))
    if cached is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        cached = _CLAIMS[(dialect, table.name)] = (
            insert(table)
            .values({**{k: bindparam(k) for k in keys}, "used": 1})
            .on_conflict_do_update(
                index_elements=list(keys),
                set_={"used": table.c.used + 1},
                where=table.c.used < bindparam("limit"),
            )
            .returning(table.c.used)
        )
    return cached


def _claim(session: Session, table: Any, keys: dict[str, Any], limit: int) -> bool:
    if limit <= 0:
        return False
    connection = connection_of(session)
    statement = _claim_statement(connection.dialect.name, table, tuple(keys))
    return connection.execute(statement, {**keys, "limit": limit}).first() is not None


def _release(session: Session, table: Any, keys: dict[str, Any]) -> None:
    condition = [table.c[k] == v for k, v in keys.items()]
    connection_of(session).execute(
        update(table).where(*condition, table.c.used > 0).values(used=table.c.used - 1)
    )


def book(
    *,
    session: Session,
    branch: BranchSettings,
    service: str,
    at: datetime,
    name: str,
    phone: str,
    lang: str = "zh",
    now: datetime,
) -> Booking:
    settings = settings_of(branch)
    service_settings, capacity = _bookable(branch, service)
    name = public_text(name, "name", max_len=MAX_NAME)
    phone = normalize_phone(phone)
    local = at.astimezone(branch.zone)
    day = local.date()
    check_day(branch, day, now)
    if local not in slot_times(branch, service_settings, day):
        raise InvalidInput(
            "该时段不在营业时间内。This time is not one of the branch's booking slots.",
            code="slot_outside_hours",
        )
    if local <= now:
        raise InvalidInput("该时段已过。This slot has already begun.", code="slot_past")
    if _blocked(blocked_times(session, branch.code, day), local):
        raise Conflict("该时段暂停预约。This slot is closed to bookings.", code="slot_blocked")
    phone_key = {"branch": branch.code, "phone": phone, "day": day}
    if not _claim(session, _PHONE_DAY, phone_key, settings.per_phone_per_day):
        raise Conflict(
            f"同一手机号每天最多预约{settings.per_phone_per_day}次。"
            f"One phone number can book at most {settings.per_phone_per_day} visits a day.",
            code="phone_daily_limit",
        )
    slot_key = {"branch": branch.code, "service": service, "at": as_utc(local)}
    if not _claim(session, _SLOT, slot_key, capacity):
        raise Conflict(
            "该时段已约满，请选择其他时段。This slot is full; please pick another.",
            code="slot_full",
        )
    appointment = appointments.book(
        session=session,
        branch=branch,
        service=service,
        at=local,
        customer_name=name,
        now=now,
    )
    assert appointment.id is not None
    booking = Booking(
        branch=branch.code,
        service=service,
        at=as_utc(local),
        day=day,
        code=appointment.code,
        appointment_id=appointment.id,
        name=name,
        phone=phone,
        phone_last4=phone[-4:],
        manage_token=secrets.token_urlsafe(24),
        lang="en" if lang == "en" else "zh",
        created_at=as_utc(now),
    )
    session.add(booking)
    session.flush()
    return booking


def by_token(session: Session, token: str) -> Booking:
    booking = (
        session.exec(select(Booking).where(col(Booking.manage_token) == token)).first()
        if 10 <= len(token) <= 64
        else None
    )
    if booking is None:
        raise NotFound("未找到该预约。No such booking.", code="booking_not_found")
    return booking


def _appointment(session: Session, booking: Booking) -> Appointment | None:
    return session.get(Appointment, booking.appointment_id)


def state(session: Session, booking: Booking, now: datetime) -> str:
    """booked | arrived | cancelled | missed, as the customer and the lobby see it."""
    appointment = _appointment(session, booking)
    if booking.status == BookingStatus.cancelled or (
        appointment is not None and appointment.status == "cancelled"
    ):
        return "cancelled"
    if appointment is not None and appointment.status == "checked_in":
        return "arrived"
    at = utc(booking.at)
    assert at is not None
    return "missed" if now > at + timedelta(hours=2) else "booked"


def cancel(*, session: Session, branch: BranchSettings, booking: Booking, now: datetime) -> Booking:
    current = state(session, booking, now)
    if current == "cancelled":
        raise Conflict("该预约已取消。This booking is already cancelled.", code="already_cancelled")
    if current == "arrived":
        raise Conflict(
            "已签到的预约不能取消。You have already checked in.", code="already_checked_in"
        )
    at = utc(booking.at)
    assert at is not None
    if now >= at:
        raise Conflict(
            "预约时间已到，不能取消。The slot has begun; it can no longer be cancelled.",
            code="too_late_to_cancel",
        )
    appointment = _appointment(session, booking)
    if appointment is not None:
        appointment.status = "cancelled"
        session.add(appointment)
    booking.status = BookingStatus.cancelled
    booking.cancelled_at = as_utc(now)
    session.add(booking)
    _release(session, _SLOT, {"branch": booking.branch, "service": booking.service, "at": at})
    _release(
        session, _PHONE_DAY, {"branch": booking.branch, "phone": booking.phone, "day": booking.day}
    )
    return booking


def public_data(
    session: Session, branch: BranchSettings, booking: Booking, now: datetime, base: str
) -> BookingPublic:
    """What the customer sees: the phone masked, the manage address to keep."""
    service = branch.service(booking.service)
    at = utc(booking.at)
    assert at is not None
    status = state(session, booking, now)
    return BookingPublic(
        code=booking.code,
        branch=branch.code,
        branch_name=Names.of(branch.name),
        service=booking.service,
        service_name=Names.of(service.name) if service else None,
        at=at.astimezone(branch.zone).isoformat(),
        ends_at=(at + timedelta(minutes=settings_of(branch).slot_min))
        .astimezone(branch.zone)
        .isoformat(),
        name=booking.name,
        phone=mask_phone(booking.phone),
        status=status,
        can_cancel=status == "booked" and now < at,
        manage_url=f"{base}/booking/{booking.manage_token}",
        qr_url=f"{base}/booking/{booking.manage_token}/qr.svg",
        ics_url=f"{base}/booking/{booking.manage_token}/visit.ics",
        qr_text=qr_text(booking),
        early_min=branch.appointment_early_min,
        late_min=branch.appointment_late_min,
    )


def qr_text(booking: Booking) -> str:
    """What the QR holds and the kiosk's reader types: LOBBYQ:{branch}:{code}."""
    return f"LOBBYQ:{booking.branch}:{booking.code}"


# -- arrival: the kiosk's phone lookup, the lobby's list ------------------------------------


def arrivals_by_last4(
    *, session: Session, branch: BranchSettings, last4: str, now: datetime
) -> list[BookingArrival]:
    """Live bookings of this hour (from the late window back to one hour ahead) whose
    phone ends in `last4`: the kiosk lists the names masked, the customer picks."""
    if not (len(last4) == 4 and last4.isdigit()):
        raise InvalidInput("请输入手机号后4位。Type the last 4 digits.", code="invalid_last4")
    start = now - timedelta(minutes=branch.appointment_late_min)
    end = now + timedelta(minutes=max(60.0, branch.appointment_early_min))
    rows = session.exec(
        select(Booking, Appointment)
        .join(Appointment, col(Appointment.id) == col(Booking.appointment_id))
        .where(
            col(Booking.branch) == branch.code,
            col(Booking.phone_last4) == last4,
            col(Booking.status) == BookingStatus.booked,
            col(Appointment.status) == "booked",
            col(Booking.at) >= as_utc(start),
            col(Booking.at) <= as_utc(end),
        )
        .order_by(col(Booking.at))
        .limit(20)
    ).all()
    out = []
    for booking, _ in rows:
        at = utc(booking.at)
        assert at is not None
        service = branch.service(booking.service)
        out.append(
            BookingArrival(
                code=booking.code,
                name=mask_name(booking.name),
                at=at.astimezone(branch.zone).isoformat(),
                service=booking.service,
                service_name=Names.of(service.name) if service else None,
            )
        )
    return out


def day_bookings(
    *, session: Session, branch: BranchSettings, day: date, now: datetime
) -> list[DayBooking]:
    """The lobby's and the manager's list of a day: phones masked, who arrived with
    which ticket."""
    rows = session.exec(
        select(Booking, Appointment, Ticket)
        .join(Appointment, col(Appointment.id) == col(Booking.appointment_id))
        .outerjoin(Ticket, col(Ticket.id) == col(Appointment.ticket_id))
        .where(col(Booking.branch) == branch.code, col(Booking.day) == day)
        .order_by(col(Booking.at), col(Booking.id))
    ).all()
    out = []
    for booking, appointment, ticket in rows:
        at = utc(booking.at)
        assert at is not None
        if booking.status == BookingStatus.cancelled or appointment.status == "cancelled":
            status = "cancelled"
        elif appointment.status == "checked_in":
            status = "arrived"
        elif now > at + timedelta(minutes=branch.appointment_late_min):
            status = "missed"
        else:
            status = "expected"
        out.append(
            DayBooking(
                code=booking.code,
                at=at.astimezone(branch.zone).isoformat(),
                service=booking.service,
                name=booking.name,
                phone=mask_phone(booking.phone),
                status=status,
                ticket=ticket.number if ticket is not None else None,
                ticket_priority=ticket.priority if ticket is not None else None,
            )
        )
    return out


def today(branch: BranchSettings, now: datetime) -> date:
    return business_day(branch, now)


# -- the manager: calendar, blocks ----------------------------------------------------------


def calendar(
    *, session: Session, branch: BranchSettings, day: date, now: datetime
) -> BookingCalendarOut:
    """Capacity used per slot and service, and what is blocked."""
    settings = settings_of(branch)
    blocks = _blocks(session, branch.code, day)
    blocked = blocked_times(session, branch.code, day)
    services = bookable_services(branch)
    times = sorted({t for s in services for t in slot_times(branch, s, day)})
    used: dict[str, dict[datetime, int]] = {}
    if times:
        for service in services:
            used[service.code] = used_places(
                session, branch.code, service.code, times[0], times[-1] + timedelta(seconds=1)
            )
    return BookingCalendarOut(
        date=day.isoformat(),
        slot_min=settings.slot_min,
        services=bookable_offer(branch),
        day_blocked=None in blocked,
        blocks=[block_data(b, branch) for b in blocks],
        slots=[
            CalendarSlot(
                at=t.isoformat(),
                blocked=_blocked(blocked, t),
                used={s.code: used.get(s.code, {}).get(t, 0) for s in services},
            )
            for t in times
        ],
    )


def bookable_offer(branch: BranchSettings) -> list[BookableService]:
    """The bookable services with their places per slot."""
    capacity = settings_of(branch).capacity
    return [
        BookableService(code=s.code, name=Names.of(s.name), capacity=capacity[s.code])
        for s in bookable_services(branch)
    ]


def block_data(block: BookingBlock, branch: BranchSettings) -> BookingBlockOut:
    at = utc(block.at)
    return BookingBlockOut(
        id=block.id,
        date=block.day.isoformat(),
        at=at.astimezone(branch.zone).isoformat() if at else None,
        reason=block.reason,
        created_by=block.created_by,
    )


def block(
    *,
    session: Session,
    branch: BranchSettings,
    day: date,
    at: datetime | None,
    reason: str,
    username: str,
    now: datetime,
) -> BookingBlock:
    """Close a slot (`at`) or the whole day to new bookings; bookings made stay."""
    settings_of(branch)
    if not 2000 <= day.year <= 2100:
        raise InvalidInput("date: a day between 2000 and 2100", code="invalid_day")
    reason = public_text(reason, "reason", max_len=200, required=False)
    if at is not None and at.astimezone(branch.zone).date() != day:
        raise InvalidInput("the slot is not on that day", code="invalid_slot")
    row = BookingBlock(
        branch=branch.code,
        day=day,
        at=as_utc(at) if at is not None else None,
        reason=reason,
        created_by=username[:32],
        created_at=as_utc(now),
    )
    session.add(row)
    session.flush()
    return row


def unblock(*, session: Session, branch: BranchSettings, block_id: int) -> None:
    row = session.get(BookingBlock, block_id)
    if row is None or row.branch != branch.code:
        raise NotFound("no such block", code="block_not_found")
    session.delete(row)


def purge(*, session: Session, branch: BranchSettings, now: datetime) -> int:
    """Bookings whose slot is older than the retention: deleted, with their counters;
    their appointments keep no name. Returns how many bookings went."""
    if branch.booking is None:
        return 0
    cutoff = now - timedelta(days=branch.booking.retention_days)
    old = list(
        session.exec(
            select(Booking).where(
                col(Booking.branch) == branch.code, col(Booking.at) < as_utc(cutoff)
            )
        ).all()
    )
    ids = [b.appointment_id for b in old]
    if ids:
        session.execute(
            update(Appointment)
            .where(col(Appointment.id).in_(ids))
            .values(customer_name="", customer_ref="")
        )
        session.execute(delete(Booking).where(col(Booking.id).in_([b.id for b in old])))
    cutoff_day = cutoff.astimezone(branch.zone).date()
    session.execute(
        delete(BookingPhoneDay).where(
            col(BookingPhoneDay.branch) == branch.code, col(BookingPhoneDay.day) < cutoff_day
        )
    )
    session.execute(
        delete(BookingSlot).where(
            col(BookingSlot.branch) == branch.code, col(BookingSlot.at) < as_utc(cutoff)
        )
    )
    session.execute(
        delete(BookingBlock).where(
            col(BookingBlock.branch) == branch.code, col(BookingBlock.day) < cutoff_day
        )
    )
    return len(old)


def midnight(day: date, branch: BranchSettings) -> datetime:
    return datetime.combine(day, time(0), tzinfo=branch.zone)


CSV_COLUMNS = (
    ("date", "日期 date"),
    ("time", "时间 time"),
    ("service", "业务 service"),
    ("name", "姓名 name"),
    ("phone", "手机 phone"),
    ("code", "预约码 code"),
    ("status", "状态 status"),
    ("ticket", "号票 ticket"),
)
STATUS_NAMES = {
    "expected": "待到达 expected",
    "arrived": "已签到 arrived",
    "missed": "未到 missed",
    "cancelled": "已取消 cancelled",
}


def bookings_csv(branch: BranchSettings, rows: list[DayBooking]) -> str:
    """The day's bookings (phones already masked by day_bookings); a cell that a
    spreadsheet would run as a formula is quoted with a leading apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([title for _, title in CSV_COLUMNS])
    for row in rows:
        at = datetime.fromisoformat(row.at)
        service = branch.service(row.service)
        cells = {
            "date": at.date().isoformat(),
            "time": at.strftime("%H:%M"),
            "service": f"{service.name.zh} {service.name.en}" if service else row.service,
            "name": row.name,
            "phone": row.phone,
            "code": row.code,
            "status": STATUS_NAMES[row.status],
            "ticket": row.ticket or "",
        }
        writer.writerow([_cell(cells[key]) for key, _ in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
