"""Who may open a TV page, and what the page is given to start with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.auth import Principal
from server.config import BranchSettings
from server.errors import LobbyQError
from server.store import Store


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    zh: str
    en: str


NOT_SIGNED_IN = Refusal(
    401,
    "not_authenticated",
    "请用管理员提供的地址（含 ?token=）打开一次。",
    "Open it once with the address (with ?token=) your administrator gave you.",
)
WRONG_TOKEN = Refusal(
    403,
    "invalid_token",
    "令牌无效或已更换，请联系管理员。",
    "Its token is invalid or was changed. Ask your administrator.",
)
WRONG_DISPLAY = Refusal(
    403,
    "wrong_display",
    "令牌属于另一台显示屏或另一个网点。",
    "The token belongs to another display or branch.",
)


def check_display(
    store: Store, branch: BranchSettings, display_id: str, token: str | None
) -> Principal | Refusal:
    """A display may open its own page; staff may open any display of any branch."""
    if not token:
        return NOT_SIGNED_IN
    try:
        principal = store.tokens.resolve(token)
    except LobbyQError:
        return WRONG_TOKEN
    if principal.kind == "user":
        return principal
    if principal.kind == "display" and (principal.branch, principal.name) == (
        branch.code,
        display_id,
    ):
        return principal
    return WRONG_DISPLAY


def page_config(store: Store, branch: BranchSettings, display_id: str) -> dict[str, Any]:
    """What the page's script starts from (the rest comes over the WebSocket)."""
    return {
        "branch": branch.code,
        "display": display_id,
        "name": branch.name.model_dump(),
        "timezone": branch.timezone,
        "languages": list(branch.voice.languages),
        "services": [
            {"code": s.code, "prefix": s.prefix, "name": s.name.model_dump()}
            for s in branch.services
        ],
        "ws": f"/ws/branches/{branch.code}",
        "queue": f"/api/v1/branches/{branch.code}/queue",
        "recent": 7,
        **info_config(branch, display_id),
    }


def info_config(branch: BranchSettings, display_id: str) -> dict[str, Any]:
    """What the TV shows beside the queue (the display's `layout`), and where from."""
    display = next((d for d in branch.displays if d.id == display_id), None)
    layout = display.layout if display else "queue"
    return {
        "layout": layout,
        "slide_seconds": display.slide_seconds if display else 10,
        "boards": f"/api/v1/branches/{branch.code}/boards",
        "slides": f"/api/v1/branches/{branch.code}/slides",
    }
