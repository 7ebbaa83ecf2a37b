"""`lobbyq serve`'s WebSocket protocol (server/realtime/fanout.py): live events go out
as ready-made frames written straight to each connection, and whenever that is not
exact (permessage-deflate) or not possible (a client that stopped reading) the stream
falls back to plain ASGI sends, keeping order, and a stuck client is still dropped
without holding up the others."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from websockets.sync.client import connect

from server.config import AppConfig
from server.events import Event
from server.realtime.fanout import text_frame
from server.realtime.stream import BranchStream
from tests.realtime.conftest import FanoutLiveServer, issue, receive, ws_url
from tests.support import DISPLAY_TOKEN, LiveServer


@pytest.fixture
def fanout_server(config: AppConfig) -> Iterator[LiveServer]:
    live = FanoutLiveServer(config=config).start()
    yield live
    live.stop()


def streams(server: LiveServer) -> list[BranchStream]:
    assert server.store is not None
    return list(server.store.realtime.watch.watched)


def wait_until(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def test_text_frame_lengths() -> None:
    assert text_frame(b"hi") == b"\x81\x02hi"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70000)[:10] == b"\x81\x7f" + (70000).to_bytes(8, "big")


def test_live_events_are_written_as_ready_made_frames(fanout_server: LiveServer) -> None:
    with connect(ws_url(fanout_server, token=DISPLAY_TOKEN), open_timeout=10) as connection:
        assert receive(connection)["type"] == "snapshot"
        numbers = [issue(fanout_server, "A")["number"] for _ in range(3)]
        messages = [receive(connection) for _ in range(3)]
        assert [m["type"] for m in messages] == ["ticket.issued"] * 3
        assert [m["data"]["number"] for m in messages] == numbers
        assert [m["seq"] for m in messages] == [1, 2, 3]
        (stream,) = streams(fanout_server)
        assert stream.direct_sent == 3


def test_with_permessage_deflate_the_stream_sends_through_asgi(config: AppConfig) -> None:
    server = FanoutLiveServer(config=config)
    server.deflate = True
    server.start()
    try:
        # The websockets client offers permessage-deflate, as Chromium does.
        with connect(ws_url(server, token=DISPLAY_TOKEN), open_timeout=10) as connection:
            assert connection.protocol.extensions  # negotiated
            assert receive(connection)["type"] == "snapshot"
            for _ in range(2):
                issue(server, "B")
            assert [receive(connection)["seq"] for _ in range(2)] == [1, 2]
            (stream,) = streams(server)
            assert stream.direct_sent == 0
    finally:
        server.stop()


def open_stuck_client(server: LiveServer) -> socket.socket:
    """A TV that completes the handshake, then never reads again."""
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = server.url.split("//", 1)[1].split(":")
    stuck.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    stuck.sendall(
        (
            f"GET /ws/branches/b1?token={DISPLAY_TOKEN} HTTP/1.1\r\nHost: {host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    stuck.settimeout(10)
    assert stuck.recv(12) == b"HTTP/1.1 101"
    return stuck


def test_a_client_that_stops_reading_is_dropped_and_others_get_everything(
    fanout_server: LiveServer,
) -> None:
    store = fanout_server.store
    assert store is not None
    store.realtime.limits.send_timeout_s = 0.3
    watch = store.realtime.watch
    url = ws_url(fanout_server, token=DISPLAY_TOKEN)
    with connect(url, open_timeout=10, max_size=None) as healthy:
        first = receive(healthy)
        stuck = open_stuck_client(fanout_server)
        try:
            wait_until(lambda: len(watch.watched) == 2)
            # Big events, published to the hub as a commit would, until the stuck
            # connection's buffers are full and its writes are refused.
            big = "x" * 100_000
            count = 120
            for n in range(1, count + 1):
                store.hub.publish(
                    Event("b1", "notice.updated", first["seq"] + n, datetime.now(UTC), {"zh": big})
                )
            seqs = [receive(healthy)["seq"] for _ in range(count)]
            assert seqs == [first["seq"] + n for n in range(1, count + 1)]
            wait_until(lambda: watch.dropped == 1)
            (left,) = streams(fanout_server)
            assert left.last == first["seq"] + count
            # Most went out directly; a burst this big also fills the healthy client's
            # buffers for a moment, and those went through ASGI sends, in order.
            assert 0 < left.direct_sent <= count
        finally:
            stuck.close()


def test_the_direct_frame_is_the_same_json_as_the_asgi_send(fanout_server: LiveServer) -> None:
    with connect(ws_url(fanout_server, token=DISPLAY_TOKEN), open_timeout=10) as connection:
        receive(connection)
        issue(fanout_server, "C")
        raw = connection.recv(timeout=10)
        assert isinstance(raw, str)
        assert json.loads(raw)["type"] == "ticket.issued"
