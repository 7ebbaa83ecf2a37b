"""The kiosk page, the mobile ticket page and its WebSocket, QR codes, and the printer API.

The print spooler is the server's `Printing` port (kiosk/printing.py PrinterPort),
built in create_app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response

from kiosk import booking_pages, printer_api
from kiosk.qr import svg_response
from server.api.deps import StoreDep, base_url
from server.api.tickets import public_ticket
from server.auth import Principal
from server.config import BranchSettings
from server.customer.feedback import feedback_given
from server.errors import LobbyQError
from server.queue.lookup import ticket_by_token
from server.store import Store
from server.web.device import device_cookie, device_token_to_cookie
from server.web.pages import page_templates

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
templates = page_templates(HERE / "templates")

router = APIRouter(include_in_schema=False)
router.include_router(printer_api.router, include_in_schema=True)
router.include_router(booking_pages.router)  # booking and opinion pages (issue 15)

TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A no-show can still be reinstated within the grace period: its phone keeps listening.
FINISHED = {"completed", "cancelled"}
HEARTBEAT_S = 15.0
# Events that can move a waiting ticket or change what its phone shows.
TICKET_EVENTS = {
    "ticket.issued",
    "ticket.called",
    "ticket.recalled",
    "ticket.started",
    "ticket.completed",
    "ticket.no_show",
    "ticket.transferred",
    "ticket.cancelled",
    "ticket.rated",
    "counter.updated",
    "service.updated",
}


# -- the kiosk page -------------------------------------------------------------------------


def _device(store: Store, token: str | None) -> Principal | None:
    if not token or len(token) > 256:
        return None
    try:
        return store.tokens.resolve(token)
    except LobbyQError:
        return None


def _refused(request: Request, branch: str, kiosk_id: str, why: str, status: int) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "refused.html",
        {"branch": branch, "kiosk_id": kiosk_id, "why": why},
        status_code=status,
    )


@router.get("/kiosk/{branch}/{kiosk_id}", response_class=HTMLResponse)
def kiosk_page(
    branch: str,
    kiosk_id: str,
    request: Request,
    store: StoreDep,
    token: str | None = Query(default=None, max_length=256),
) -> Response:
    settings = store.config.branch(branch)
    kiosk = next((k for k in settings.kiosks if k.id == kiosk_id), None) if settings else None
    if settings is None or kiosk is None:
        return _refused(request, branch, kiosk_id, "unknown", 404)
    if token is not None:
        device = _device(store, token)
        if not _is_this_kiosk(device, branch, kiosk_id):
            return _refused(request, branch, kiosk_id, "wrong_token", 403)
        return device_token_to_cookie(request, token, f"/kiosk/{branch}/{kiosk_id}")
    device = _device(store, device_cookie(request))
    if not _is_this_kiosk(device, branch, kiosk_id):
        return _refused(request, branch, kiosk_id, "no_token", 401)
    return templates.TemplateResponse(
        request,
        "kiosk.html",
        {
            "branch": settings,
            "kiosk": kiosk,
            "boot": _kiosk_boot(settings, kiosk.id, kiosk.printer),
        },
    )


def _is_this_kiosk(device: Principal | None, branch: str, kiosk_id: str) -> bool:
    return (
        device is not None
        and device.kind == "kiosk"
        and device.branch == branch
        and device.name == kiosk_id
    )


def _kiosk_boot(branch: BranchSettings, kiosk_id: str, printer: str) -> dict[str, Any]:
    codes = {p.code for p in branch.all_priorities()}
    return {
        "branch": branch.code,
        "branchName": branch.name.model_dump(),
        "kiosk": kiosk_id,
        "printer": printer or None,
        "timezone": branch.timezone,
        "paths": {
            "vip": "vip" in codes or bool(branch.vip_customers),
            "appointment": True,
            "accessibility": "accessibility" in codes,
        },
        "services": [
            {"code": s.code, "prefix": s.prefix, "name": s.name.model_dump()}
            for s in branch.services
        ],
    }


# -- the printers page for managers ---------------------------------------------------------


@router.get("/printers/{branch}", response_class=HTMLResponse)
def printers_page(branch: str, request: Request, store: StoreDep) -> Response:
    """States, previews and a test print; the data comes from the API (manager sign-in)."""
    settings = store.config.branch(branch)
    if settings is None:
        return templates.TemplateResponse(request, "ticket_missing.html", {}, status_code=404)
    return templates.TemplateResponse(
        request,
        "printers.html",
        {"branch": settings, "boot": {"branch": branch}},
    )


# -- QR codes of mobile ticket addresses ---------------------------------------------------


@router.get("/kiosk/qr.svg")
def qr_svg(
    request: Request, store: StoreDep, data: str = Query(min_length=1, max_length=300)
) -> Response:
    """A QR code of one of this server's mobile ticket addresses (and nothing else)."""
    prefix = f"{base_url(request, store)}/t/"
    if not data.startswith(prefix) or not TOKEN_CHARS.match(data[len(prefix) :]):
        return Response(
            json.dumps({"error": {"code": "invalid_qr_data", "message": "not a ticket address"}}),
            status_code=422,
            media_type="application/json",
        )
    return svg_response(data)


# -- the mobile ticket ----------------------------------------------------------------------


@router.get("/t/{token}", response_class=HTMLResponse)
def mobile_ticket(token: str, request: Request, store: StoreDep) -> Response:
    state = _public_state(store, token) if TOKEN_CHARS.match(token) else None
    if state is None:
        return templates.TemplateResponse(request, "ticket_missing.html", {}, status_code=404)
    branch = store.branch(state["branch"])
    return templates.TemplateResponse(
        request,
        "ticket.html",
        {
            "branch": branch,
            "ticket": state,
            "token": token,
            "boot": {
                "token": token,
                "ticket": state,
                "branchName": branch.name.model_dump(),
                "ratings": branch.ratings_enabled,
            },
        },
    )


def _public_state(store: Store, token: str) -> dict[str, Any] | None:
    with store.read() as session:
        ticket = ticket_by_token(session, token)
        if ticket is None:
            return None
        state = public_ticket(store, session, ticket)
        state["branch"] = ticket.branch
        state["priority"] = ticket.priority
        state["comment"] = ticket.comment
        state["feedback"] = feedback_given(session, ticket)
        return state


async def _next_or_gone(sub: Any, gone: asyncio.Event, timeout: float) -> Any:
    """The next event, or None as soon as the client is gone (or the server stops: it
    then closes the socket, which ends the client's side), rather than at the next
    heartbeat: a phone kept a stopping server waiting 15 s."""
    if gone.is_set():
        return None
    waiter = asyncio.ensure_future(sub.next(timeout))
    stopped = asyncio.ensure_future(gone.wait())
    try:
        await asyncio.wait({waiter, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not waiter.done():
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        return None
    return waiter.result()


@router.websocket("/ws/tickets/{token}")
async def ticket_socket(websocket: WebSocket, token: str) -> None:
    """One ticket's public state: sent on connect, then again whenever it changes."""
    store: Store = websocket.app.state.store
    await websocket.accept()
    state = (
        await anyio.to_thread.run_sync(_public_state, store, token)
        if TOKEN_CHARS.match(token)
        else None
    )
    if state is None:
        await websocket.send_json(
            {"type": "error", "error": {"code": "ticket_not_found", "message": "no such ticket"}}
        )
        await websocket.close(code=4404)
        return
    gone = asyncio.Event()

    async def watch_client() -> None:
        with contextlib.suppress(Exception):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
        gone.set()

    watcher = asyncio.create_task(watch_client())
    try:
        async with store.hub.subscribe(state["branch"]) as sub:
            # Read again after subscribing, so nothing between the two reads is missed.
            state = await anyio.to_thread.run_sync(_public_state, store, token)
            assert state is not None
            await websocket.send_json({"type": "ticket", "data": state})
            while not gone.is_set() and state["status"] not in FINISHED:
                event = await _next_or_gone(sub, gone, HEARTBEAT_S)
                if gone.is_set():
                    break
                if event is None and not sub.overflowed:
                    await websocket.send_json({"type": "heartbeat", "at": store.now().isoformat()})
                    continue
                if sub.overflowed:
                    sub.reset()
                elif event is not None and event.type not in TICKET_EVENTS:
                    continue
                fresh = await anyio.to_thread.run_sync(_public_state, store, token)
                if fresh is not None and fresh != state:
                    state = fresh
                    await websocket.send_json({"type": "ticket", "data": state})
            if not gone.is_set():
                await websocket.close(code=1000)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        watcher.cancel()
