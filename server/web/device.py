"""The one way a device (kiosk, TV, counter sign, rating pad, lobby tablet) keeps its
token: opened once with `?token=...`, the token goes into the `lobbyq_device` cookie
and leaves the address bar (and the browser's history) at once."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

DEVICE_COOKIE = "lobbyq_device"
# Chromium caps a cookie's life at 400 days; asking for more is silently cut to that.
DEVICE_COOKIE_AGE_S = 400 * 24 * 3600


def set_device_cookie(response: Response, request: Request, token: str) -> None:
    """HttpOnly (no script reads it), SameSite=Strict (a device opens its own page
    directly, so no request started by another site ever carries it), Secure on https."""
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=DEVICE_COOKIE_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def device_token_to_cookie(request: Request, token: str, page: str | None = None) -> Response:
    """The 303 to the page's own address (`page`, else this path without the query)
    that stores a device token the caller has already checked."""
    response = RedirectResponse(page or request.url.path, status_code=303)
    set_device_cookie(response, request, token)
    return response


def device_cookie(request: Request) -> str | None:
    return request.cookies.get(DEVICE_COOKIE)
