"""Appointments (预约): book, list by day, cancel, import from CSV, check in by staff.

Times given without an offset are the branch's local time, as a branch's booking list is.
Generated codes are digits only: the kiosk's keypad is a number pad.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.errors import Conflict, InvalidInput, NotFound
from server.models import Appointment, as_utc, utc
from server.queue.tickets import Issued, issue_ticket

CODE_DIGITS = 6
MAX_IMPORT_ROWS = 2000


def parse_when(value: str, branch: BranchSettings) -> datetime:
    """'2026-11-30T10:30+08:00', '2026-11-30 10:30' (branch-local) -> aware UTC."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError as exc:
        raise InvalidInput(
            f"{value!r} is not a date and time like 2026-11-30 10:30", code="invalid_time"
        ) from exc
    if not 2000 <= parsed.year <= 2100:
        raise InvalidInput(f"{value!r} is not a plausible appointment time", code="invalid_time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=branch.zone)
    return as_utc(parsed)


def check_text(value: str, field: str) -> str:
    """Postgres refuses NUL in text; refuse every control character, clearly."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise InvalidInput(f"{field}: control characters are not allowed", code="invalid_text")
    return value


def appointment_data(appointment: Appointment, branch: BranchSettings) -> dict[str, Any]:
    at = utc(appointment.at)
    assert at is not None
    return {
        "code": appointment.code,
        "service": appointment.service,
        "at": at.astimezone(branch.zone).isoformat(),
        "customer_ref": appointment.customer_ref,
        "customer_name": appointment.customer_name,
        "status": appointment.status,
        "ticket_id": appointment.ticket_id,
    }


def _code_taken(session: Session, branch: str, code: str) -> bool:
    found = session.exec(
        select(Appointment.id).where(
            Appointment.branch == branch,
            Appointment.code == code,
            Appointment.status != "cancelled",
        )
    ).first()
    return found is not None


def _new_code(session: Session, branch: str, taken: set[str]) -> str:
    for _ in range(100):
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        if code not in taken and not _code_taken(session, branch, code):
            return code
    raise Conflict("could not find a free appointment code", code="no_free_code")


def _check(
    session: Session,
    branch: BranchSettings,
    *,
    service: str,
    code: str,
    customer_ref: str,
    customer_name: str,
    taken: set[str],
) -> None:
    if branch.service(service) is None:
        raise InvalidInput(f"no service {service!r}", code="unknown_service")
    if code and (not code.isalnum() or len(code) > 32):
        raise InvalidInput("code: letters and digits only, at most 32", code="invalid_code")
    if code and (code in taken or _code_taken(session, branch.code, code)):
        raise Conflict(f"appointment code {code} is already in use", code="code_in_use")
    if len(customer_ref) > 64 or len(customer_name) > 100:
        raise InvalidInput("customer ref or name too long", code="invalid_customer")
    check_text(customer_ref, "customer_ref")
    check_text(customer_name, "customer_name")


def book(
    *,
    session: Session,
    branch: BranchSettings,
    service: str,
    at: datetime,
    code: str = "",
    customer_ref: str = "",
    customer_name: str = "",
    now: datetime,
    taken: set[str] | None = None,
) -> Appointment:
    taken = taken if taken is not None else set()
    code = code.strip()
    _check(
        session,
        branch,
        service=service,
        code=code,
        customer_ref=customer_ref,
        customer_name=customer_name,
        taken=taken,
    )
    appointment = Appointment(
        branch=branch.code,
        service=service,
        at=as_utc(at),
        code=code or _new_code(session, branch.code, taken),
        customer_ref=customer_ref.strip(),
        customer_name=customer_name.strip(),
        status="booked",
        created_at=as_utc(now),
    )
    taken.add(appointment.code)
    session.add(appointment)
    session.flush()
    return appointment


def list_day(*, session: Session, branch: BranchSettings, day: date) -> list[Appointment]:
    if not 2000 <= day.year <= 2100:
        raise InvalidInput("day: a date between 2000 and 2100", code="invalid_day")
    start = datetime.combine(day, time(0), tzinfo=branch.zone)
    end = start + timedelta(days=1)
    return list(
        session.exec(
            select(Appointment)
            .where(
                Appointment.branch == branch.code,
                col(Appointment.at) >= as_utc(start),
                col(Appointment.at) < as_utc(end),
            )
            .order_by(col(Appointment.at), col(Appointment.code))
        )
    )


def find(session: Session, branch: str, code: str) -> Appointment:
    rows = session.exec(
        select(Appointment)
        .where(Appointment.branch == branch, Appointment.code == code)
        .order_by(col(Appointment.id).desc())
    ).all()
    live = next((a for a in rows if a.status != "cancelled"), None)
    if live is None and not rows:
        raise NotFound("未找到该预约。No appointment with this code.", code="appointment_not_found")
    return live or rows[0]


def cancel(*, session: Session, branch: BranchSettings, code: str) -> Appointment:
    appointment = find(session, branch.code, code)
    if appointment.status == "checked_in":
        raise Conflict("this appointment is already checked in", code="already_checked_in")
    appointment.status = "cancelled"
    session.add(appointment)
    return appointment


@dataclass(frozen=True)
class Visit:
    """What a visitor asks for at the kiosk, the lobby tablet or through the API."""

    service: str
    priority: str = "normal"
    customer_ref: str | None = None
    appointment_code: str | None = None
    lang: str = "zh"


def vip_levels(branch: BranchSettings) -> set[str]:
    return {"vip"} | {c.level for c in branch.vip_customers}


def recognised_priority(branch: BranchSettings, visit: Visit, *, by_kiosk: bool) -> str:
    """The kiosk never gives a VIP ticket to an unknown card; staff may."""
    if not by_kiosk or visit.priority not in vip_levels(branch):
        return visit.priority
    known = {c.ref: c.level for c in branch.vip_customers}
    ref = (visit.customer_ref or "").strip()
    if not ref or known.get(ref) is None:
        raise InvalidInput(
            "未找到该贵宾卡号，可取普通号。This card or member number is not on our VIP list; "
            "you can take a normal ticket.",
            code="unknown_vip",
        )
    return known[ref]


def bookable(session: Session, branch: BranchSettings, code: str) -> Appointment:
    """The appointment a code checks in: live, not yet checked in."""
    appointment = find(session, branch.code, code)
    if appointment.status == "cancelled":
        raise NotFound(
            "该预约已取消。This appointment was cancelled.", code="appointment_not_found"
        )
    if appointment.status == "checked_in":
        raise InvalidInput(
            "该预约已签到。This appointment is already checked in.", code="already_checked_in"
        )
    return appointment


def issue_visit(
    *,
    session: Session,
    branch: BranchSettings,
    visit: Visit,
    by_kiosk: bool,
    source: str,
    now: datetime,
) -> Issued:
    """Issue a ticket with VIP recognition and appointment check-in: the one use-case
    behind the kiosk, the lobby tablet, the API and the staff's check-in."""
    priority = recognised_priority(branch, visit, by_kiosk=by_kiosk)
    if priority == "appointment" and not visit.appointment_code:
        raise InvalidInput(
            "an appointment ticket needs appointment_code", code="appointment_code_required"
        )
    if not visit.appointment_code:
        return issue_ticket(
            session=session,
            branch=branch,
            service=visit.service,
            priority=priority,
            customer_ref=visit.customer_ref,
            lang=visit.lang,
            source=source,
            now=now,
        )
    appointment = bookable(session, branch, visit.appointment_code.strip())
    # An appointment's ticket is for its booked service; its priority comes from the
    # appointment's window (issue_ticket), not from what was asked.
    return issue_ticket(
        session=session,
        branch=branch,
        service=appointment.service,
        priority="normal",
        customer_ref=visit.customer_ref or appointment.customer_ref or None,
        appointment=appointment,
        lang=visit.lang,
        source=source,
        now=now,
    )


def check_in(
    *, session: Session, branch: BranchSettings, code: str, source: str, now: datetime
) -> Issued:
    """Staff check a customer in: the same ticket the kiosk would give."""
    visit = Visit(service="", appointment_code=code)
    return issue_visit(
        session=session, branch=branch, visit=visit, by_kiosk=False, source=source, now=now
    )


# -- CSV import -----------------------------------------------------------------------------


@dataclass
class ImportReport:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "appointments": self.accepted,
            "errors": self.rejected,
        }


COLUMNS = {"service", "at", "date", "time", "code", "customer_ref", "customer_name"}


def import_csv(
    *, session: Session, branch: BranchSettings, text: str, now: datetime
) -> ImportReport:
    """One appointment per row: service, at (or date + time), code?, customer_ref?,
    customer_name?. Good rows are booked, bad rows reported with the reason; a row
    never half-imports."""
    if "\x00" in text:
        raise InvalidInput("the CSV contains NUL bytes: not a text file", code="invalid_csv")
    # newline=None: a lone CR (old Mac/Excel exports) ends a row instead of a csv.Error.
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=None))
    try:
        return _import_rows(session=session, branch=branch, reader=reader, now=now)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise InvalidInput(f"the CSV cannot be read: {exc}", code="invalid_csv") from exc


def _import_rows(
    *, session: Session, branch: BranchSettings, reader: csv.DictReader[str], now: datetime
) -> ImportReport:
    report = ImportReport()
    header = {h.strip().lower() for h in (reader.fieldnames or []) if h}
    if "service" not in header or not ({"at"} <= header or {"date", "time"} <= header):
        raise InvalidInput(
            "the CSV needs a header row with service and at (or date and time); "
            "optional: code, customer_ref, customer_name",
            code="invalid_csv",
        )
    taken: set[str] = set()
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_IMPORT_ROWS:
            report.rejected.append({"row": line, "reason": f"over {MAX_IMPORT_ROWS} rows"})
            break
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        when = row.get("at") or f"{row.get('date', '')} {row.get('time', '')}".strip()
        try:
            # book() checks everything before it adds the row: a bad row adds nothing.
            appointment = book(
                session=session,
                branch=branch,
                service=row.get("service", ""),
                at=parse_when(when, branch),
                code=row.get("code", ""),
                customer_ref=row.get("customer_ref", ""),
                customer_name=row.get("customer_name", ""),
                now=now,
                taken=taken,
            )
        except (InvalidInput, Conflict) as exc:
            report.rejected.append({"row": line, "reason": exc.message, "code": exc.code})
            continue
        report.accepted.append({"row": line, **appointment_data(appointment, branch)})
    return report
