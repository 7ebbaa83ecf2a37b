"""The lobby manager's tablet `/lobby/{branch}` (大堂经理, role `lobby` or a manager;
1280x800 touch). It issues tickets through the API's own `POST /tickets` (the
kiosk's use-case: VIP cards and appointment codes are checked there and only there),
prints at a chosen printer or shows the QR, and reads the lobby's state from
`GET /lobby` (server/devices/lobby.py), refreshed on every event of the branch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.routes import HERE
from server.api.deps import (
    StoreDep,
    bearer_token,
    drop_token_from_address,
    header_token,
    no_branch_page,
)
from server.config import BranchSettings
from server.errors import LobbyQError
from server.web.pages import branch_boot, page_templates

templates = page_templates(HERE / "templates")
router = APIRouter(include_in_schema=False)


def lobby_settings(branch: BranchSettings) -> dict[str, Any]:
    return {
        **branch_boot(branch),
        "printers": [p.id for p in branch.printers],
        "vip_levels": sorted({"vip"} | {c.level for c in branch.vip_customers}),
    }


@router.get("/lobby/{branch}", response_class=HTMLResponse)
def lobby_page(branch: str, request: Request, store: StoreDep) -> Response:
    settings = store.config.branch(branch)
    if settings is None:
        return no_branch_page()
    if request.query_params.get("token"):
        return drop_token_from_address(f"/lobby/{settings.code}")
    who = None
    sent = bearer_token(request)
    if sent:
        try:
            who = store.tokens.resolve(sent)
        except LobbyQError:
            who = None  # expired: sign in again
    boot = {
        "branch": lobby_settings(settings),
        "user": who.name if who is not None and who.kind == "user" else None,
        "allowed": who is not None and who.can("lobby"),
        "token": header_token(request),
    }
    return templates.TemplateResponse(
        request,
        "lobby.html",
        {
            "boot": boot,
            "branch": settings,
            "signed_in": boot["user"] is not None,
            "allowed": boot["allowed"],
        },
        headers={"Cache-Control": "no-store"},
    )
