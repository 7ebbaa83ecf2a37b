"""HTTP routes of the hall's devices (API.md v1.1): ratings and ask-rating, the
counter device's card, boards, slides, staff photos, device health and the lobby
tablet's reads and moves. Thin: parse, check who asks, call the use-case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile, status
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from server.api.deps import (
    AnyPrincipal,
    Manager,
    RowId,
    Staff,
    StoreDep,
    check_branch,
    current_principal,
)
from server.auth import Principal
from server.config import BranchSettings
from server.customer.routes import _csv_text
from server.devices import boards, health, lobby, ratings, slides, staff
from server.devices.answers import (
    BoardOut,
    CounterCard,
    DevicesOut,
    LobbyOut,
    RatesBoardOut,
    RatingAsked,
    SlideOut,
    StaffCard,
    StaffListed,
)
from server.devices.images import MAX_IMAGE_BYTES
from server.errors import Forbidden, InvalidInput, NotFound
from server.events import RatedTicket
from server.models import Counter, User, utc
from server.public import TicketPublic
from server.queue.counters import counter_data
from server.queue.tickets import ticket_data
from server.store import Store

router = APIRouter(prefix="/api/v1", tags=["devices"])


async def lobby_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The lobby tablet's capability (server/auth.py ROLE_CAPABILITIES): role lobby,
    managers and admins."""
    if not principal.can("lobby"):
        raise Forbidden("lobby managers and managers only", code="lobby_only")
    return principal


LobbyStaff = Annotated[Principal, Depends(lobby_principal)]


def check_counter_device(principal: Principal, branch: str, counter: str) -> None:
    """The sign and pad of counter 3 act for counter 3 only."""
    check_branch(principal, branch)
    if principal.kind != "counter":
        raise Forbidden("this counter's sign or rating pad only", code="counter_device_only")
    if principal.counter != counter:
        raise Forbidden("this device belongs to another counter", code="wrong_counter")


async def startup(store: Store) -> None:
    if not store.config.server.redis_url:  # the only process: nothing is connected yet
        store.device_links.forget_all()


async def shutdown(store: Store) -> None:
    await store.device_links.settled()


# --- ratings --------------------------------------------------------------------------


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket: str = Field(min_length=1, max_length=16, description="the ticket's number")
    rating: int = Field(ge=1, le=5)
    reasons: list[str] = Field(default_factory=list, max_length=len(ratings.REASONS))


@router.post(
    "/branches/{branch}/counters/{counter}/ratings",
    status_code=status.HTTP_201_CREATED,
    response_model=RatedTicket,
)
def rate(
    branch: str, counter: str, body: RatingIn, store: StoreDep, principal: AnyPrincipal
) -> dict[str, Any]:
    check_counter_device(principal, branch, counter)
    settings = store.branch(branch)
    with store.write() as session:
        ticket = ratings.rate_at_counter(
            session=session,
            branch=settings,
            counter=counter,
            number=body.ticket,
            rating=body.rating,
            reasons=body.reasons,
            now=store.now(),
        )
        return ratings.rated_ticket(ticket).wire()


@router.post("/branches/{branch}/counters/{counter}/ask-rating", response_model=RatingAsked)
def ask_rating(branch: str, counter: str, store: StoreDep, principal: Staff) -> dict[str, Any]:
    settings = store.branch(branch)
    with store.write() as session:
        ticket = ratings.ask_rating(
            session=session,
            branch=settings,
            counter=counter,
            username=principal.name,
            now=store.now(),
        )
        return {"number": ticket.number, "counter": counter, "requested": True}


def counter_card(
    session: Session, branch: BranchSettings, number: str, store: Store
) -> dict[str, Any]:
    """What the sign and the pad of a counter show: its name and state, the number
    served, the teller's card, and a ticket still waiting for its rating."""
    counter = session.exec(
        select(Counter).where(Counter.branch == branch.code, Counter.number == number)
    ).first()
    if counter is None:
        raise NotFound(f"no counter {number!r}", code="counter_not_found")
    data = counter_data(session, counter)
    user = None
    if counter.username:
        user = session.exec(select(User).where(User.username == counter.username)).first()
    data["teller"] = staff.staff_card(user, counter.username)
    pending = None
    if branch.ratings_enabled:
        ticket = ratings.last_completed(session, branch, number, store.now())
        if ticket is not None and ticket.rated_at is None and ticket.rating is None:
            finished = utc(ticket.finished_at)
            pending = {
                "number": ticket.number,
                "age_s": round((store.now() - finished).total_seconds()) if finished else None,
            }
    data["pending_rating"] = pending
    data["ratings_enabled"] = branch.ratings_enabled
    data["reasons"] = list(ratings.REASONS)
    return data


@router.get("/branches/{branch}/counters/{counter}/device", response_model=CounterCard)
def device_card(
    branch: str, counter: str, store: StoreDep, principal: AnyPrincipal
) -> dict[str, Any]:
    if not principal.is_manager:
        check_counter_device(principal, branch, counter)
    settings = store.branch(branch)
    with store.read() as session:
        return counter_card(session, settings, counter, store)


# --- boards ---------------------------------------------------------------------------


@router.get(
    "/branches/{branch}/boards/{board}", response_model=BoardOut, response_model_exclude_unset=True
)
def get_board(branch: str, board: str, store: StoreDep) -> dict[str, Any]:
    settings = store.branch(branch)
    with store.read() as session:
        return boards.get_board(session, settings, board)


@router.put(
    "/branches/{branch}/boards/{board}", response_model=BoardOut, response_model_exclude_unset=True
)
async def put_board(
    branch: str, board: str, request: Request, store: StoreDep, principal: Manager
) -> dict[str, Any]:
    check_branch(principal, branch)
    settings = store.branch(branch)
    try:
        data = await request.json()
    except ValueError:
        raise InvalidInput("send the board as JSON", code="invalid_board") from None
    with store.write() as session:
        return boards.put_board(
            session=session,
            branch=settings,
            name=board,
            data=data,
            username=principal.name,
            now=store.now(),
        )


@router.post(
    "/branches/{branch}/boards/rates/csv",
    response_model=RatesBoardOut,
    response_model_exclude_unset=True,
)
async def import_rates(
    branch: str, request: Request, store: StoreDep, principal: Manager
) -> dict[str, Any]:
    """The rate table from CSV (text/csv or multipart `file`); the title is kept."""
    check_branch(principal, branch)
    settings = store.branch(branch)
    text = await _csv_text(request)
    with store.write() as session:
        current = boards.get_board(session, settings, "rates")
        data = boards.rates_from_csv(text, title=current.get("title"))
        return boards.put_board(
            session=session,
            branch=settings,
            name="rates",
            data=data,
            username=principal.name,
            now=store.now(),
        )


# --- slides ---------------------------------------------------------------------------


@router.get("/branches/{branch}/slides", response_model=list[SlideOut])
def list_slides(branch: str, store: StoreDep) -> list[dict[str, Any]]:
    settings = store.branch(branch)
    with store.read() as session:
        return slides.list_slides(session, settings)


async def _upload(file: UploadFile) -> bytes:
    # One byte more than allowed is enough to refuse it with a clear 422.
    return await file.read(MAX_IMAGE_BYTES + 1)


@router.post(
    "/branches/{branch}/slides", status_code=status.HTTP_201_CREATED, response_model=SlideOut
)
async def add_slide(
    branch: str, store: StoreDep, principal: Manager, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    check_branch(principal, branch)
    settings = store.branch(branch)
    content = await _upload(file)
    with store.write() as session:
        slide = slides.add_slide(
            session=session,
            branch=settings,
            data_dir=store.config.data_path,
            content=content,
            now=store.now(),
        )
        return slides.slide_data(slide)


@router.delete("/branches/{branch}/slides/{slide_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_slide(branch: str, slide_id: RowId, store: StoreDep, principal: Manager) -> Response:
    check_branch(principal, branch)
    settings = store.branch(branch)
    with store.write() as session:
        slides.delete_slide(
            session=session,
            branch=settings,
            data_dir=store.config.data_path,
            slide_id=slide_id,
            now=store.now(),
        )
    return Response(status_code=204)


@router.get("/branches/{branch}/slides/{slide_id}/image")
def slide_image(branch: str, slide_id: RowId, store: StoreDep) -> Response:
    settings = store.branch(branch)
    with store.read() as session:
        slide = slides.find_slide(session, settings, slide_id)
    path = slides.slides_folder(store.config.data_path, settings.code) / slide.file
    if not path.is_file():
        raise NotFound(f"slide {slide_id} has no file", code="slide_not_found")
    return FileResponse(
        path, media_type=slide.media_type, headers={"Cache-Control": "max-age=86400"}
    )


# --- staff photos ---------------------------------------------------------------------


@router.put("/users/{username}/photo", response_model=StaffCard)
async def put_photo(
    username: str, store: StoreDep, principal: Manager, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    del principal
    content = await _upload(file)
    with store.write() as session:
        user = staff.set_photo(
            session=session, data_dir=store.config.data_path, username=username, content=content
        )
        return staff.staff_card(user, user.username) or {}


@router.delete("/users/{username}/photo", status_code=status.HTTP_204_NO_CONTENT)
def delete_photo(username: str, store: StoreDep, principal: Manager) -> Response:
    del principal
    with store.write() as session:
        staff.remove_photo(session=session, data_dir=store.config.data_path, username=username)
    return Response(status_code=204)


@router.get("/users/{username}/photo")
def get_photo(username: str, store: StoreDep, principal: AnyPrincipal) -> Response:
    del principal
    with store.read() as session:
        path = staff.photo_path(session, store.config.data_path, username)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


@router.get("/branches/{branch}/staff", response_model=list[StaffListed])
def list_staff(branch: str, store: StoreDep, principal: Manager) -> list[dict[str, Any]]:
    """Users with their card (for the dashboard's photo upload)."""
    check_branch(principal, branch)
    store.branch(branch)
    with store.read() as session:
        users = session.exec(select(User).order_by(col(User.username))).all()
        return [
            {**(staff.staff_card(u, u.username) or {}), "role": str(u.role)}
            for u in users
            if u.active
        ]


# --- device health --------------------------------------------------------------------


@router.get("/branches/{branch}/devices", response_model=DevicesOut)
def devices(branch: str, store: StoreDep, principal: Manager) -> dict[str, Any]:
    check_branch(principal, branch)
    settings = store.branch(branch)
    with store.read() as session:
        return health.device_health(session, settings, store.now())


# --- the lobby tablet -----------------------------------------------------------------


@router.get("/branches/{branch}/lobby", response_model=LobbyOut)
def lobby_overview(branch: str, store: StoreDep, principal: LobbyStaff) -> dict[str, Any]:
    del principal
    settings = store.branch(branch)
    with store.read() as session:
        return lobby.lobby_overview(session, settings, store.now())


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")


@router.post("/branches/{branch}/tickets/{number}/move", response_model=TicketPublic)
def move_ticket(
    branch: str, number: str, body: MoveIn, store: StoreDep, principal: LobbyStaff
) -> dict[str, Any]:
    settings = store.branch(branch)
    with store.write() as session:
        ticket = lobby.move_waiting(
            session=session,
            branch=settings,
            number=number[:16],
            to_service=body.service,
            username=principal.name,
            now=store.now(),
        )
        return ticket_data(ticket).wire()
