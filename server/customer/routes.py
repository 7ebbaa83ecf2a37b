"""Routes of the customer module: appointments (manager API, CSV import, staff check-in),
feedback on a served ticket, and the branch webhook (installed as a store listener)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from server.api.deps import Manager, Staff, StoreDep, base_url, check_branch
from server.api.schemas import TicketOut
from server.api.views import ticket_out
from server.customer import appointments as appointment_rules
from server.customer import booking_routes
from server.customer.answers import AppointmentOut, FeedbackOut, ImportReportOut
from server.customer.feedback import MAX_COMMENT, leave_feedback
from server.errors import InvalidInput, NotFound
from server.models import Ticket
from server.queue.calendar import business_day
from server.security import refuse_invisible

router = APIRouter(prefix="/api/v1", tags=["customer"])
# Online bookings and the opinion book (API.md v1.1), their own module.
router.include_router(booking_routes.router)


class AppointmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    at: str = Field(min_length=10, max_length=40, description="ISO time; no offset: branch-local")
    code: str = Field(default="", max_length=32, pattern=r"^[A-Za-z0-9]*$")
    customer_ref: str = Field(default="", max_length=64)
    customer_name: str = Field(default="", max_length=100)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)


# -- appointments ---------------------------------------------------------------------------


@router.post(
    "/branches/{branch}/appointments",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
)
def create_appointment(
    branch: str, body: AppointmentIn, store: StoreDep, principal: Manager
) -> dict[str, Any]:
    del principal
    settings = store.branch(branch)
    with store.write() as session:
        appointment = appointment_rules.book(
            session=session,
            branch=settings,
            service=body.service,
            at=appointment_rules.parse_when(body.at, settings),
            code=body.code,
            customer_ref=body.customer_ref,
            customer_name=body.customer_name,
            now=store.now(),
        )
        return appointment_rules.appointment_data(appointment, settings)


@router.get("/branches/{branch}/appointments", response_model=list[AppointmentOut])
def list_appointments(
    branch: str,
    store: StoreDep,
    principal: Staff,
    day: date | None = Query(default=None, description="branch-local day; default today"),
) -> list[dict[str, Any]]:
    check_branch(principal, branch)
    settings = store.branch(branch)
    with store.read() as session:
        rows = appointment_rules.list_day(
            session=session, branch=settings, day=day or business_day(settings, store.now())
        )
        return [appointment_rules.appointment_data(a, settings) for a in rows]


@router.delete("/branches/{branch}/appointments/{code}", response_model=AppointmentOut)
def cancel_appointment(
    branch: str, code: str, store: StoreDep, principal: Manager
) -> dict[str, Any]:
    del principal
    settings = store.branch(branch)
    with store.write() as session:
        appointment = appointment_rules.cancel(session=session, branch=settings, code=code[:32])
        return appointment_rules.appointment_data(appointment, settings)


@router.post(
    "/branches/{branch}/appointments/import",
    response_model=ImportReportOut,
    response_model_exclude_unset=True,
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string"}}}
                },
            }
        }
    },
)
async def import_appointments(
    branch: str, request: Request, store: StoreDep, principal: Manager
) -> dict[str, Any]:
    """CSV with a header row: service, at (or date, time), code?, customer_ref?,
    customer_name?. Sent as text/csv or as the `file` field of a multipart form."""
    del principal
    settings = store.branch(branch)
    text = await _csv_text(request)
    refuse_invisible(text)  # names in any encoding or envelope (server/security.py)
    with store.write() as session:
        report = appointment_rules.import_csv(
            session=session, branch=settings, text=text, now=store.now()
        )
    return report.data()


async def _csv_text(request: Request) -> str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("send the CSV as the form field 'file'", code="invalid_csv")
        raw = await upload.read()
    elif kind in ("text/csv", "text/plain", "application/csv"):
        raw = await request.body()
    else:
        raise InvalidInput("send text/csv or multipart/form-data", code="unsupported_csv_type")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in a Chinese office saves GB18030
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("the CSV is neither UTF-8 nor GB18030", code="invalid_csv")


@router.post(
    "/branches/{branch}/appointments/{code}/check-in",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    response_model_exclude_unset=True,
)
def staff_check_in(
    branch: str, code: str, request: Request, store: StoreDep, principal: Staff
) -> dict[str, Any]:
    settings = store.branch(branch)
    with store.write() as session:
        issued = appointment_rules.check_in(
            session=session, branch=settings, code=code[:32], source=principal.name, now=store.now()
        )
    out = ticket_out(
        issued.ticket, issued.place, settings, base_url(request, store), notice=issued.notice
    )
    out.update(
        store.ports.ticket_issued(settings, issued.ticket, out, by=principal, print_it=False)
    )
    return out


# -- feedback -------------------------------------------------------------------------------


@router.post("/tickets/{token}/feedback", response_model=FeedbackOut)
def post_feedback(token: str, body: FeedbackIn, store: StoreDep) -> dict[str, Any]:
    """The customer's rating (1-5) and comment, after the service, once."""
    with store.write() as session:
        ticket = (
            session.exec(select(Ticket).where(Ticket.token == token)).first()
            if len(token) <= 64
            else None
        )
        if ticket is None:
            raise NotFound("no such ticket", code="ticket_not_found")
        leave_feedback(
            session=session,
            branch=store.branch(ticket.branch),
            ticket=ticket,
            rating=body.rating,
            comment=body.comment,
            now=store.now(),
        )
        return {"number": ticket.number, "rating": ticket.rating, "comment": ticket.comment}
