"""The teller page `/counter/{branch}`.

The page is one template on the web kit (server/web) plus plain JS/CSS under
/static/counter/ (no internet in a branch). It signs in with POST
/api/v1/auth/login (the `lobbyq_session` cookie), or takes a bearer token in an
`Authorization: Bearer` header (handed to the page's script); a `?token=` in the
address is dropped, never taken (docs/security.md).
Everything it shows is read back from the API: the summary of its counter after
each action and on every WebSocket event.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from counter_client import devices
from server.api.deps import StoreDep, drop_token_from_address, header_token, no_branch_page
from server.web.pages import branch_boot, page_templates

HERE = Path(__file__).resolve().parent
templates = page_templates(HERE / "templates")

router = APIRouter(include_in_schema=False)
router.include_router(devices.router)  # the sign and the rating pad


@router.get("/counter/{branch}", response_class=HTMLResponse)
def teller_page(branch: str, request: Request, store: StoreDep) -> Response:
    settings = store.config.branch(branch)
    if settings is None:
        return no_branch_page()
    token = request.query_params.get("token")
    if token:
        return drop_token_from_address(f"/counter/{settings.code}")
    boot = {"branch": branch_boot(settings), "token": header_token(request)}
    return templates.TemplateResponse(
        request,
        "counter.html",
        {"boot": boot, "branch": settings},
        headers={"Cache-Control": "no-store"},
    )
