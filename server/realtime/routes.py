"""`/ws/branches/{b}`: a branch's live events for displays, kiosks and staff pages.

Auth: the token comes from the `token` query parameter, else `Authorization: Bearer`,
else the `lobbyq_session` / `lobbyq_device` cookie. A refused connection is ACCEPTED
and then closed at once with code 1008 (policy violation) and the error code as the
reason (`not_authenticated`, `invalid_token`, `token_expired`, `wrong_branch`); an
unknown branch closes with 4404 `branch_not_found`. Accept-then-close, rather than a
403 on the handshake, because a browser cannot read a handshake status: the TV page
reads the close code and shows "not authorised" instead of retrying forever.

The route is a plain Starlette route put first among the app's routes (`mount`): after
a restart thousands of sockets open at once, and FastAPI's matching through every
included router before this one cost ~0.3 ms of CPU per socket (more than the rest of
the routing and the endpoint's own start); HTTP requests pass it by on the scope type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI, WebSocket
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketState

from server.api.deps import SESSION_COOKIE, check_branch
from server.auth import Principal
from server.devices.health import device_of
from server.errors import LobbyQError, NotAuthenticated
from server.realtime.fanout import frame_writer
from server.realtime.stream import BranchStream, SendWatch, for_counter, parse_since
from server.store import Store
from server.web.device import DEVICE_COOKIE

log = logging.getLogger("lobbyq.realtime")
PATH = "/ws/branches/{branch}"

POLICY_VIOLATION = 1008
NOT_FOUND = 4404


def websocket_token(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return websocket.cookies.get(SESSION_COOKIE) or websocket.cookies.get(DEVICE_COOKIE)


def authorise(store: Store, branch: str, token: str | None) -> Principal:
    """The principal allowed on this branch's stream; raises LobbyQError otherwise."""
    if not token or len(token) > 4096:
        raise NotAuthenticated("send a display, kiosk or staff token", code="not_authenticated")
    principal = store.tokens.resolve(token)
    check_branch(principal, branch)
    return principal


def mount(app: FastAPI) -> None:
    """The branch stream, first among the app's routes (see the module's doc)."""
    app.router.routes.insert(0, WebSocketRoute(PATH, _branch_events, name="branch_events"))


async def _branch_events(websocket: WebSocket) -> None:
    await branch_events(websocket, websocket.path_params["branch"])


async def branch_events(websocket: WebSocket, branch: str) -> None:
    store: Store = websocket.app.state.store
    await websocket.accept()
    settings = store.config.branch(branch)
    if settings is None:
        await websocket.close(code=NOT_FOUND, reason="branch_not_found")
        return
    try:
        principal = authorise(store, branch, websocket_token(websocket))
    except LobbyQError as refused:
        await websocket.close(code=POLICY_VIOLATION, reason=refused.code)
        return
    stream = BranchStream(store, settings, websocket.send_text, frame_writer(websocket.scope))
    if principal.counter is not None:  # a counter's sign and pad see their counter's events
        stream.keep = for_counter(principal.counter)
    since = parse_since(websocket.query_params.get("since"))
    device = device_of(principal, websocket.query_params.get("client"))
    if device is None:
        await serve_until_closed(websocket, stream, store.realtime.watch, since)
        return
    kind, name = device
    await store.device_links.opened(branch, kind, name, store.now())
    try:
        await serve_until_closed(websocket, stream, store.realtime.watch, since)
    finally:
        await store.device_links.closed(branch, kind, name, store.now())


async def serve_until_closed(
    websocket: WebSocket, stream: BranchStream, watch: SendWatch, since: int | None
) -> None:
    """Run the stream until it ends, the client goes, or the watch drops it as too
    slow; reading is only to notice the client leaving (its messages are ignored), so
    the hub subscription ends at once."""
    writing = asyncio.ensure_future(stream.run(since))
    reading = asyncio.ensure_future(_until_disconnect(websocket))
    watch.watch(stream, writing)
    try:
        done, _ = await asyncio.wait({writing, reading}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.unwatch(stream)
        for task in (writing, reading):
            task.cancel()
        for task in (writing, reading):
            with contextlib.suppress(BaseException):
                await task
    if writing in done and writing.cancelled():
        log.info("dropped a WebSocket client too slow to take its messages")
    elif writing in done and writing.exception() is not None:
        log.debug("WebSocket writer ended: %r", writing.exception())
    if websocket.client_state == WebSocketState.CONNECTED and reading not in done:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await websocket.close(code=1011 if writing in done else 1000)


async def _until_disconnect(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
