"""Sign in and out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import select

from server.api.deps import SESSION_COOKIE, AnyPrincipal, OptionalPrincipal, StoreDep
from server.api.schemas import DeviceSessionOut, LoginIn, LoginOut, MeOut, OkOut
from server.auth import end_sessions, verify_password
from server.errors import NotAuthenticated
from server.models import User
from server.web.device import set_device_cookie

router = APIRouter(prefix="/auth", tags=["auth"])
DEVICE_ACCOUNT = "#device"  # failed device set-ups are limited like logins to this name


class DeviceIn(BaseModel):
    token: str = Field(min_length=1, max_length=256)


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, store: StoreDep) -> dict[str, Any]:
    client = request.client.host if request.client else "?"
    store.login_limiter.check(client, body.username)
    with store.read() as session:
        user = session.exec(select(User).where(User.username == body.username)).first()
    ok = verify_password(user.password_hash if user else None, body.password)
    if user is None or not ok or not user.active:
        store.login_limiter.failed(client, body.username)
        raise NotAuthenticated("wrong username or password", code="bad_credentials")
    store.login_limiter.succeeded(client, body.username)
    token = store.tokens.issue(user.username, str(user.role), user.token_version)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=store.tokens.ttl_s, httponly=True, samesite="strict"
    )
    return {
        "access_token": token,
        "token_type": "bearer",
        "role": str(user.role),
        "username": user.username,
        "expires_in": store.tokens.ttl_s,
    }


@router.post("/device", response_model=DeviceSessionOut)
def device_session(
    body: DeviceIn, request: Request, response: Response, store: StoreDep
) -> dict[str, Any]:
    """A kiosk or TV sets itself up: its token, POSTed once from the form of its page,
    goes into an HttpOnly cookie, never into an address (docs/security.md)."""
    client = request.client.host if request.client else "?"
    store.login_limiter.check(client, DEVICE_ACCOUNT)
    device = store.tokens.device(body.token)
    if device is None:
        store.login_limiter.failed(client, DEVICE_ACCOUNT)
        raise NotAuthenticated("not a device token", code="invalid_token")
    set_device_cookie(response, request, body.token)
    return {"kind": device.kind, "name": device.name, "branch": device.branch}


@router.post("/logout", response_model=OkOut)
def logout(response: Response, store: StoreDep, principal: OptionalPrincipal) -> dict[str, bool]:
    """Clear the cookie and end every token of the signed-in user, in every process
    (a copied cookie or a token in another client stops working too)."""
    if principal is not None and principal.is_staff:
        with store.write() as session:
            end_sessions(session, principal.name)
    response.delete_cookie(SESSION_COOKIE)
    return {"ok": True}


@router.get("/me", response_model=MeOut)
def me(principal: AnyPrincipal) -> dict[str, Any]:
    return {
        "kind": principal.kind,
        "name": principal.name,
        "role": principal.role,
        "branch": principal.branch,
    }
