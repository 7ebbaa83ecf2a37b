"""The lobby TV page `/display/{b}/{display_id}` and `/audio/{name}` (its script and
styles are under /static/display/, see server/web/assets.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from lobby_display import voice
from lobby_display.display import Refusal, check_display, page_config
from server.api.deps import bearer_token
from server.errors import NotFound
from server.store import Store
from server.web.device import device_token_to_cookie
from server.web.pages import page_templates

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).resolve().parent
templates = page_templates(HERE / "templates")
AUDIO_WAIT_S = 10.0
# Staff preview a display signed in (the session cookie), never with a token in the
# address: an address ends up in the browser's history (docs/security.md).
STAFF_TOKEN_IN_ADDRESS = Refusal(
    403,
    "token_in_address",
    "员工令牌不能放在地址里。请先在柜员或经理页面登录，再打开此地址（不带 ?token=）。",
    "A staff token is not accepted in an address. Sign in on the teller or manager page, "
    "then open this address without ?token=.",
)
NO_BRANCH = Refusal(404, "branch_not_found", "没有这个网点。", "There is no such branch.")


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@router.get("/display/{branch}/{display_id}", response_class=HTMLResponse)
def display_page(
    request: Request,
    branch: str,
    display_id: str,
    token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    store = _store(request)
    settings = store.config.branch(branch)
    if settings is None:
        refusal = Refusal(
            404, "branch_not_found", "没有这个网点。", f"There is no branch {branch!r}."
        )
        return _refused(request, refusal)
    allowed = check_display(store, settings, display_id, token or bearer_token(request))
    if isinstance(allowed, Refusal):
        return _refused(request, allowed)
    if token and allowed.kind == "display":
        return device_token_to_cookie(request, token)
    if token and allowed.kind == "user":
        return _refused(request, STAFF_TOKEN_IN_ADDRESS)
    config = page_config(store, settings, display_id)
    return templates.TemplateResponse(
        request,
        "display.html",
        {"branch": settings, "config": config, "layout": config["layout"]},
        headers={"Cache-Control": "no-store"},
    )


def _refused(request: Request, refusal: Refusal) -> Response:
    return templates.TemplateResponse(
        request,
        "display_denied.html",
        {"refusal": refusal},
        status_code=refusal.status,
        headers={"Cache-Control": "no-store"},
    )


@router.get(voice.AUDIO_URL_PREFIX + "/{name}")
def audio_file(request: Request, name: str) -> Response:
    """A WAV the announcer named; waits briefly for one still being synthesized."""
    announcer = _store(request).ports.announcer
    path = announcer.audio_file(name, AUDIO_WAIT_S) if len(name) <= 100 else None
    if path is None:
        raise NotFound("no such audio file", code="audio_not_found")
    # Names are hashes of their content: a file never changes.
    return FileResponse(
        path,
        media_type="audio/wav",
        headers={"Cache-Control": "public, max-age=86400, immutable"},
    )


__all__: list[Any] = ["router"]
