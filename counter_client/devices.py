"""The counter's own devices: the sign above it `/counter-sign/{b}/{counter}` and the
rating pad facing the customer `/rate/{b}/{counter}`. Both open once with
`?token=<counter device token>` (kept in the device cookie, then dropped from the
address); a token of another counter is refused with a page that says so. Staff may
preview either page. Everything live comes from the branch WebSocket (the server
sends a counter device only its counter's events) and `GET .../device`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import StoreDep, bearer_token
from server.config import BranchSettings
from server.devices.ratings import REASONS
from server.errors import LobbyQError
from server.store import Store
from server.web.device import device_token_to_cookie
from server.web.pages import page_templates

HERE = Path(__file__).resolve().parent
templates = page_templates(HERE / "templates")
router = APIRouter(include_in_schema=False)

PAGES = {"sign": "sign.html", "pad": "pad.html"}


def refusal(store: Store, branch: BranchSettings, counter: str, token: str | None) -> str | None:
    """Why this token may not open this counter's device page, or None."""
    if branch.counter(counter) is None:
        return "no_counter"
    if not token:
        return "not_authenticated"
    try:
        principal = store.tokens.resolve(token)
    except LobbyQError:
        return "invalid_token"
    if principal.kind == "user":
        return None
    if principal.kind != "counter" or principal.branch != branch.code:
        return "wrong_device"
    if principal.counter != counter:
        return "wrong_counter"
    return None


def device_page(
    page: str, branch: str, counter: str, request: Request, store: Store, token: str | None
) -> Response:
    settings = store.config.branch(branch)
    if settings is None:
        return _refused(request, "no_branch", 404)
    why = refusal(store, settings, counter, token or bearer_token(request))
    if why is not None:
        status = {"not_authenticated": 401, "no_counter": 404}.get(why, 403)
        return _refused(request, why, status)
    if token:
        if store.tokens.device(token) is None:
            # Staff preview signed in, never with their token in the address (it would
            # end up in the browser's history: docs/security.md).
            return _refused(request, "token_in_address", 403)
        return device_token_to_cookie(request, token)
    boot = {
        "branch": settings.code,
        "counter": counter,
        "client": page,
        "name": settings.counter_name(counter),
        "branch_name": settings.name.model_dump(),
        "ws": f"/ws/branches/{settings.code}",
        "card": f"/api/v1/branches/{settings.code}/counters/{counter}/device",
        "ratings": f"/api/v1/branches/{settings.code}/counters/{counter}/ratings",
        "reasons": list(REASONS),
        "ratings_enabled": settings.ratings_enabled,
        "token": None,  # the device cookie (or a staff session) authenticates the page
    }
    return templates.TemplateResponse(
        request,
        PAGES[page],
        {"boot": boot, "name": boot["name"], "branch": settings},
        headers={"Cache-Control": "no-store"},
    )


def _refused(request: Request, why: str, status: int) -> Response:
    return templates.TemplateResponse(
        request,
        "device_refused.html",
        {"why": why},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


TokenQuery = Annotated[str | None, Query(max_length=4096)]


@router.get("/counter-sign/{branch}/{counter}", response_class=HTMLResponse)
def sign_page(
    branch: str, counter: str, request: Request, store: StoreDep, token: TokenQuery = None
) -> Response:
    return device_page("sign", branch, counter, request, store, token)


@router.get("/rate/{branch}/{counter}", response_class=HTMLResponse)
def pad_page(
    branch: str, counter: str, request: Request, store: StoreDep, token: TokenQuery = None
) -> Response:
    return device_page("pad", branch, counter, request, store, token)
