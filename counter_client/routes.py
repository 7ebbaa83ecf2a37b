"""The teller page `/counter/{branch}` and its static assets.

The page is one template plus plain JS/CSS served from here (no internet in a
branch). It signs in with POST /api/v1/auth/login (the `lobbyq_session` cookie), or
takes a bearer token in an `Authorization: Bearer` header (handed to the page's
script); a `?token=` in the address is dropped, never taken (docs/security.md).
Everything it shows is read back from the API: the summary of its counter after
each action and on every WebSocket event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from counter_client import devices
from server.api.deps import StoreDep, drop_token_from_address, header_token, no_branch_page
from server.config import BranchSettings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
ASSETS = {
    "counter.js": "text/javascript",
    "counter.css": "text/css",
    "device.js": "text/javascript",  # the sign's and the pad's shared live client
    "device.css": "text/css",
    "sign.js": "text/javascript",
    "pad.js": "text/javascript",
}
templates = Jinja2Templates(directory=str(HERE / "templates"))

router = APIRouter(include_in_schema=False)
router.include_router(devices.router)  # the sign and the rating pad


def page_settings(branch: BranchSettings) -> dict[str, Any]:
    """What the page needs from the config: names of services, priorities, counters."""
    return {
        "code": branch.code,
        "name": branch.name.model_dump(),
        "timezone": branch.timezone,
        "ratings_enabled": branch.ratings_enabled,
        "services": [{"code": s.code, "name": s.name.model_dump()} for s in branch.services],
        "priorities": [
            {
                "code": p.code,
                "name": p.shown_name(),
            }
            for p in branch.all_priorities()
        ],
        "counters": [
            {
                "number": c.number,
                "services": list(c.services),
                "name": c.shown_name(),
            }
            for c in branch.counters
        ],
    }


@router.get("/counter/static/{name}")
def static_file(name: str) -> Response:
    if name not in ASSETS:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        (STATIC / name).read_bytes(),
        media_type=ASSETS[name],
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/counter/{branch}", response_class=HTMLResponse)
def teller_page(branch: str, request: Request, store: StoreDep) -> Response:
    settings = store.config.branch(branch)
    if settings is None:
        return no_branch_page()
    token = request.query_params.get("token")
    if token:
        return drop_token_from_address(f"/counter/{settings.code}")
    boot = {"branch": page_settings(settings), "token": header_token(request)}
    return templates.TemplateResponse(
        request,
        "counter.html",
        {"boot": boot, "branch": settings},
        headers={"Cache-Control": "no-store"},
    )
