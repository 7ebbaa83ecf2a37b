"""Helpers for the counter client's tests: a display following the branch's
WebSocket, and builders that issue tickets through the API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.support import DISPLAY_TOKEN, LiveServer


class DisplayFeed:
    """What a lobby TV receives on /ws/branches/{b}: every message, in order."""

    def __init__(self, server: LiveServer, branch: str = "b1") -> None:
        url = (
            server.url.replace("http://", "ws://") + f"/ws/branches/{branch}?token={DISPLAY_TOKEN}"
        )
        self.messages: list[dict[str, Any]] = []
        self._cursor = 0
        self._cond = threading.Condition()
        self._socket = connect(url, open_timeout=10)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self.snapshot = self.next_of("snapshot")

    def _read(self) -> None:
        try:
            for raw in self._socket:
                with self._cond:
                    self.messages.append(json.loads(raw))
                    self._cond.notify_all()
        except Exception:  # noqa: BLE001 - the socket closes at the end of the test
            return

    def next_of(self, type: str, number: str | None = None, timeout: float = 10) -> dict[str, Any]:
        """The next message of this type (for this ticket number) after the last one
        matched: events are checked in the order the display gets them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(self._cursor, len(self.messages)):
                    message = self.messages[index]
                    data = message.get("data") or {}
                    if message.get("type") == type and (
                        number is None or data.get("number") == number
                    ):
                        self._cursor = index + 1
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [
                        (m.get("type"), (m.get("data") or {}).get("number")) for m in self.messages
                    ]
                    raise AssertionError(f"no {type} {number or ''} on the display; saw {seen}")
                self._cond.wait(left)

    def close(self) -> None:
        self._socket.close()
        self._thread.join(timeout=5)


@pytest.fixture
def display(server: LiveServer) -> Iterator[DisplayFeed]:
    feed = DisplayFeed(server)
    yield feed
    feed.close()


def issue(server: LiveServer, service: str = "A", priority: str = "normal") -> str:
    body: dict[str, Any] = {"service": service, "priority": priority, "print": False}
    if priority == "vip":
        body["customer_ref"] = "VIP001"
    with server.client("kiosk") as kiosk:
        response = kiosk.post("/branches/b1/tickets", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["number"])
