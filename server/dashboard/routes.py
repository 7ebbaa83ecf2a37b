"""The manager's dashboard `/dashboard/{branch}`: live queue, alerts, charts of a
date range, CSV download.

Templates on the web kit (server/web) plus plain JS/CSS and a vendored Chart.js under
/static/dashboard/ (a branch has no internet). Signed-out visitors get a login form (POST
/api/v1/auth/login sets the session cookie); signed-in staff who are not managers
get a clear refusal. The page follows the hub through /ws/branches/{b} and reads
the queue (GET /api/v1/branches/{b}/queue) and its summary (below) over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import (
    StoreDep,
    bearer_token,
    drop_token_from_address,
)
from server.auth import Principal
from server.dashboard.summary import dashboard_summary
from server.errors import LobbyQError
from server.hq.access import StatsReader, check_may_read, may_read
from server.stats.compute import parse_range
from server.store import Store
from server.web.pages import branch_boot, page_templates

HERE = Path(__file__).resolve().parent
templates = page_templates(HERE / "templates")
router = APIRouter(include_in_schema=False)


def _who(request: Request, store: Store) -> Principal | None:
    token = bearer_token(request)
    if not token:
        return None
    try:
        return store.tokens.resolve(token)
    except LobbyQError:
        return None  # expired or invalid: sign in again


@router.get("/dashboard/{branch}", response_class=HTMLResponse)
def dashboard_page(branch: str, request: Request, store: StoreDep) -> Response:
    return manager_page(request, store, branch, "dashboard.html", "")


@router.get("/dashboard/{branch}/customers", response_class=HTMLResponse)
def customers_page(branch: str, request: Request, store: StoreDep) -> Response:
    """Bookings (calendar, blocks, CSV) and the opinion book (inbox, replies, counts)."""
    return manager_page(request, store, branch, "customers.html", "/customers")


def manager_page(
    request: Request, store: Store, branch: str, template: str, suffix: str
) -> Response:
    """A manager's page: a login form when signed out, a refusal for others."""
    settings = store.config.branch(branch)
    if settings is None:
        return templates.TemplateResponse(
            request, "message.html", {"title": "没有这个网点 · No such branch"}, status_code=404
        )
    token = request.query_params.get("token")
    if token:
        return drop_token_from_address(f"/dashboard/{settings.code}{suffix}")
    principal = _who(request, store)
    context: dict[str, Any] = {"branch": settings, "boot": {"branch": branch_boot(settings)}}
    headers = {"Cache-Control": "no-store"}
    if principal is None:
        return templates.TemplateResponse(request, "login.html", context, headers=headers)
    if principal.kind != "user" or not may_read(store, principal, settings.code):
        role = {"teller": "柜员 teller", "manager": "经理", "admin": "管理员"}.get(
            principal.role, principal.kind
        )
        context["who"] = principal.name
        context["role"] = role
        return templates.TemplateResponse(
            request, "refused.html", context, status_code=403, headers=headers
        )
    scheme, _, header_token = request.headers.get("authorization", "").partition(" ")
    context["boot"]["token"] = header_token.strip() if scheme.lower() == "bearer" else None
    context["boot"]["user"] = principal.name
    return templates.TemplateResponse(request, template, context, headers=headers)


@router.get("/dashboard/{branch}/summary.json")
def summary(
    branch: str,
    store: StoreDep,
    principal: StatsReader,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    check_may_read(store, principal, branch)
    settings = store.branch(branch)
    now = store.now()
    span = parse_range(settings, from_, to, now)
    with store.read() as session:
        return dashboard_summary(session, branch=settings, span=span, now=now)
