"""The customer's pages of issue 15, on a phone: book a visit (/book/{b}), see or cancel
it (/booking/{token}, with its QR and .ics), leave an opinion (/suggest/{b}) and
follow it (/opinion/{token}).

Each page is a template with its data in a `<script type="application/json">` blob
and one static script (no inline script: the CSP forbids them); every text the
public typed reaches the page through that blob or Jinja's escaping and is put in
the document with `textContent`, never as HTML.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Annotated, Any

import icalendar
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from kiosk.qr import svg_response
from server.api.deps import StoreDep, base_url
from server.config import BranchSettings
from server.customer import booking as booking_rules
from server.customer import opinions as opinion_rules
from server.customer.booking_routes import limit
from server.errors import LobbyQError
from server.models import utc
from server.store import Store

router = APIRouter(include_in_schema=False)


def _templates() -> Jinja2Templates:
    from kiosk.routes import templates

    return templates


def _missing(request: Request, status: int = 404) -> Response:
    return _templates().TemplateResponse(request, "ticket_missing.html", {}, status_code=status)


LangQuery = Annotated[str | None, Query(max_length=5)]


def _lookup_limit(request: Request, store: StoreDep) -> None:
    """A page found by its secret token: rate-limited per address like the API's lookups."""
    limit(store, request, "lookup", write=False)


LOOKUP = Depends(_lookup_limit)


def _page(
    request: Request,
    template: str,
    branch: BranchSettings,
    lang: str | None,
    boot: dict[str, Any],
    **context: Any,
) -> Response:
    """A customer page (kiosk/templates/_customer_page.html): the branch, its boot blob
    (`page`, `lang` and `branchName` added to `boot`) and any more template context."""
    page = template.removesuffix(".html")
    data = {"page": page, "lang": _lang(request, lang), **boot}
    data["branchName"] = branch.name.model_dump()
    return _templates().TemplateResponse(
        request, template, {"branch": branch, "boot": data, **context}
    )


def _lang(request: Request, lang: str | None) -> str:
    if lang in ("zh", "en"):
        return lang
    accept = request.headers.get("accept-language", "zh").lower()
    return "en" if accept.startswith("en") else "zh"


@router.get("/book/{branch}", response_class=HTMLResponse)
def book_page(
    branch: str,
    request: Request,
    store: StoreDep,
    lang: LangQuery = None,
) -> Response:
    settings = store.config.branch(branch)
    if settings is None or settings.booking is None:
        return _missing(request)
    now = store.now()
    booking = settings.booking
    return _page(
        request,
        "book.html",
        settings,
        lang,
        {
            "branch": settings.code,
            "slotMin": booking.slot_min,
            "perPhone": booking.per_phone_per_day,
            "earlyMin": settings.appointment_early_min,
            "lateMin": settings.appointment_late_min,
            "services": [
                {"code": s.code, "name": s.name.model_dump()}
                for s in booking_rules.bookable_services(settings)
            ],
            "days": [d.isoformat() for d in booking_rules.booking_days(settings, now)],
            "today": now.astimezone(settings.zone).date().isoformat(),
        },
    )


def _booking_state(store: Store, request: Request, token: str) -> dict[str, Any] | None:
    try:
        with store.read() as session:
            found = booking_rules.by_token(session, token)
            settings = store.branch(found.branch)
            return booking_rules.public_data(
                session, settings, found, store.now(), base_url(request, store)
            ).wire()
    except LobbyQError:
        return None


@router.get("/booking/{token}", response_class=HTMLResponse, dependencies=[LOOKUP])
def booking_page(
    token: str,
    request: Request,
    store: StoreDep,
    lang: LangQuery = None,
) -> Response:
    state = _booking_state(store, request, token)
    if state is None:
        return _missing(request)
    branch = store.branch(state["branch"])
    return _page(
        request, "booking.html", branch, lang, {"booking": state, "token": token}, booking=state
    )


@router.get("/booking/{token}/qr.svg", dependencies=[LOOKUP])
def booking_qr(token: str, request: Request, store: StoreDep) -> Response:
    """The code the kiosk's reader types: LOBBYQ:{branch}:{code}."""
    state = _booking_state(store, request, token)
    if state is None:
        return _missing(request)
    return svg_response(state["qr_text"], cache=False)


@router.get("/booking/{token}/visit.ics", dependencies=[LOOKUP])
def booking_ics(token: str, request: Request, store: StoreDep) -> Response:
    with store.read() as session:
        try:
            found = booking_rules.by_token(session, token)
        except LobbyQError:
            return _missing(request)
    branch = store.branch(found.branch)
    service = branch.service(found.service)
    start = utc(found.at)
    assert start is not None and branch.booking is not None
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//LobbyQ//booking//ZH")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", f"booking-{found.branch}-{found.code}-{found.id}@lobbyq")
    event.add("dtstamp", utc(found.created_at) or start)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=branch.booking.slot_min))
    what = f"{service.name.zh} {service.name.en}" if service else found.service
    event.add("summary", f"{branch.name.zh} · {what}")
    event.add("location", f"{branch.name.zh} {branch.name.en}")
    event.add(
        "description",
        f"预约码 Booking code: {found.code}\n"
        f"到达后请在取号机签到。Check in at the kiosk when you arrive.\n"
        f"{base_url(request, store)}/booking/{found.manage_token}",
    )
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"{branch.name.zh} {found.code}")
    alarm.add("trigger", timedelta(minutes=-60))
    event.add_component(alarm)
    calendar.add_component(event)
    buffer = io.BytesIO(calendar.to_ical())
    return Response(
        buffer.getvalue(),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="booking-{found.code}.ics"'},
    )


@router.get("/suggest/{branch}", response_class=HTMLResponse)
def suggest_page(
    branch: str,
    request: Request,
    store: StoreDep,
    source: str = Query(default="web", alias="from", max_length=16),
    ticket: str | None = Query(default=None, max_length=64),
    back: str | None = Query(default=None, max_length=200),
    lang: LangQuery = None,
) -> Response:
    """The opinion form, reached from the kiosk, the mobile ticket and the booking page."""
    settings = store.config.branch(branch)
    if settings is None:
        return _missing(request)
    # Only a path on this server may be the way back (no open redirect).
    safe_back = back if back and back.startswith("/") and not back.startswith("//") else None
    return _page(
        request,
        "suggest.html",
        settings,
        lang,
        {
            "branch": settings.code,
            "source": source if source in ("kiosk", "mobile", "book") else "web",
            "ticket": ticket,
            "back": safe_back,
            "categories": [
                {"code": c, "name": opinion_rules.CATEGORY_NAMES[c]}
                for c in opinion_rules.CATEGORIES
            ],
            "maxText": opinion_rules.MAX_TEXT,
        },
    )


@router.get("/opinion/{token}", response_class=HTMLResponse, dependencies=[LOOKUP])
def opinion_page(
    token: str,
    request: Request,
    store: StoreDep,
    lang: LangQuery = None,
) -> Response:
    try:
        with store.read() as session:
            opinion = opinion_rules.by_token(session, token)
            branch = store.branch(opinion.branch)
            state = opinion_rules.public_data(branch, opinion, base_url(request, store)).wire()
    except LobbyQError:
        return _missing(request)
    return _page(request, "opinion.html", branch, lang, {"opinion": state}, opinion=state)


@router.get("/opinion/{token}/qr.svg", dependencies=[LOOKUP])
def opinion_qr(token: str, request: Request, store: StoreDep) -> Response:
    """The follow address as a QR: a kiosk visitor takes it away on their phone."""
    with store.read() as session:
        try:
            opinion = opinion_rules.by_token(session, token)
        except LobbyQError:
            return _missing(request)
    return svg_response(f"{base_url(request, store)}/opinion/{opinion.follow_token}", cache=False)


@router.get("/book", include_in_schema=False)
def book_first_branch(store: StoreDep) -> Response:
    first = next((b for b in store.config.branches if b.booking is not None), None)
    return RedirectResponse(f"/book/{first.code}" if first else "/", status_code=303)
