"""`Annotated` dependencies: the store, who is asking, and what they may do.

They are `async def` although none awaits: FastAPI runs a plain `def` dependency in the
thread pool, and three thread hops per request cost more than the work (a token check
is an HMAC)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.auth import Principal
from server.errors import Forbidden, NotAuthenticated
from server.security import host_allowed
from server.store import Store
from server.web.device import DEVICE_COOKIE

SESSION_COOKIE = "lobbyq_session"


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]

# A row's id in an address: an integer column holds 1..2^31-1 on PostgreSQL, and a
# larger one made the query itself fail (a 500 schemathesis found on the slide image);
# out of range it is a 422 like any other malformed address.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(DEVICE_COOKIE)


async def optional_principal(request: Request, store: StoreDep) -> Principal | None:
    token = bearer_token(request)
    return store.tokens.resolve(token) if token else None


# Roles that may read but never change anything (API.md v1.1: regional).
READ_ONLY_ROLES = frozenset({"regional"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def current_principal(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in, or send a device token", code="not_authenticated")
    if principal.role in READ_ONLY_ROLES and request.method not in SAFE_METHODS:
        raise Forbidden(f"the {principal.role} role is read-only", code="read_only_role")
    return principal


async def staff_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_staff:
        raise Forbidden("staff only", code="staff_only")
    return principal


async def manager_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if not principal.is_manager:
        raise Forbidden("managers only", code="managers_only")
    return principal


AnyPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
Staff = Annotated[Principal, Depends(staff_principal)]
Manager = Annotated[Principal, Depends(manager_principal)]


def check_branch(principal: Principal, branch: str) -> None:
    """A device belongs to one branch."""
    if principal.branch is not None and principal.branch != branch:
        raise Forbidden("this device belongs to another branch", code="wrong_branch")


def drop_token_from_address(page: str) -> Response:
    """A staff page opened with ?token=: the token is NOT taken (a page address ends
    up in the browser's history, in proxy logs and in Referer headers); the page opens
    without it and asks to sign in (docs/security.md)."""
    return RedirectResponse(page, status_code=303)


def header_token(request: Request) -> str | None:
    """A bearer token sent as a header: the only kind a staff page hands to its script
    (a cookie stays httponly)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def no_branch_page() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>LobbyQ</title>"
        "<p>没有这个网点 · No such branch</p>",
        status_code=404,
    )


def base_url(request: Request, store: Store) -> str:
    """The configured public address, else the one this request came to (what
    Starlette's request.base_url gives, without parsing a URL on every request)."""
    configured = store.config.server.base_url
    if configured:
        return configured.rstrip("/")
    scope = request.scope
    host = request.headers.get("host")
    if host and not host_allowed(host, store.config.server.allowed_hosts):
        host = None  # a name not ours (evil.example): this server's own address instead
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")
