"""A real `websockets` client against the live server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from websockets.sync.client import ClientConnection, connect

from server.config import AppConfig
from server.realtime.fanout import FANOUT_WS
from tests.support import LiveServer

Connect = Callable[..., AbstractContextManager[ClientConnection]]


class FanoutLiveServer(LiveServer):
    """LiveServer under uvicorn as `lobbyq serve` runs it: the fan-out protocol
    (server/realtime/fanout.py), permessage-deflate off unless `deflate`."""

    deflate: bool = False

    def uvicorn_options(self) -> dict[str, Any]:
        return {"ws": FANOUT_WS, "ws_per_message_deflate": self.deflate}


@pytest.fixture(params=["uvicorn", "fanout"])
def server(request: pytest.FixtureRequest, config: AppConfig) -> Iterator[LiveServer]:
    """Every WebSocket test twice: under uvicorn's default WebSocket protocol (plain
    ASGI sends) and under `lobbyq serve`'s (ready-made frames written directly)."""
    kind = LiveServer if request.param == "uvicorn" else FanoutLiveServer
    live = kind(config=config).start()
    yield live
    live.stop()


def ws_url(server: LiveServer, branch: str = "b1", **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    base = server.url.replace("http://", "ws://", 1)
    return f"{base}/ws/branches/{branch}" + (f"?{query}" if query else "")


@pytest.fixture
def ws() -> Connect:
    @contextmanager
    def open_ws(
        server: LiveServer, branch: str = "b1", headers: dict[str, str] | None = None, **params: Any
    ) -> Iterator[ClientConnection]:
        with connect(
            ws_url(server, branch, **params), additional_headers=headers, open_timeout=10
        ) as connection:
            yield connection

    return open_ws


def receive(connection: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    """The next message that is not a heartbeat."""
    while True:
        message: dict[str, Any] = json.loads(connection.recv(timeout=timeout))
        if message["type"] != "ping":
            return message


def open_counter(server: LiveServer, who: str, counter: str) -> None:
    with server.client(who) as client:
        client.post(f"/branches/b1/counters/{counter}/open").raise_for_status()


def issue(server: LiveServer, service: str = "A") -> dict[str, Any]:
    with server.client("kiosk") as client:
        response = client.post("/branches/b1/tickets", json={"service": service, "print": False})
        response.raise_for_status()
        ticket: dict[str, Any] = response.json()
        return ticket


def call_next(server: LiveServer, who: str, counter: str) -> dict[str, Any]:
    with server.client(who) as client:
        response = client.post(f"/branches/b1/counters/{counter}/call-next")
        response.raise_for_status()
        called: dict[str, Any] = response.json()
        return called


def with_second_branch(config: AppConfig) -> AppConfig:
    """The test config plus branch b2 with its own display (token display-token-b2)."""
    first = config.branches[0]
    display = first.displays[0].model_copy(update={"id": "tv2", "token": "display-token-b2"})
    second = first.model_copy(
        update={"code": "b2", "displays": [display], "kiosks": [], "printers": []}
    )
    return config.model_copy(update={"branches": [*config.branches, second]})
