"""A lobby display as the tests see it: a WebSocket client in a thread that keeps the
last seq, and on any disconnect reconnects by itself with `since=` (as the TV page
does). It records every message so a test can check order, gaps and resyncs."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect


class Display(threading.Thread):
    def __init__(self, ws_base: str, branch: str, token: str, since: int | None = None) -> None:
        super().__init__(daemon=True)
        self.ws_base = ws_base
        self.branch = branch
        self.token = token
        self.last = since if since is not None else -1
        self.first_message: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []  # ticket.* / counter.* ... in arrival order
        self.snapshots: list[int] = []
        self.gaps: list[tuple[int, int]] = []  # (last seen, seq received) when not last+1
        self.connects = 0
        self.disconnects = 0
        self.closes: list[tuple[int | None, str]] = []
        self._halt = threading.Event()
        self._changed = threading.Condition()

    def url(self) -> str:
        query = f"token={self.token}"
        if self.last >= 0:
            query += f"&since={self.last}"
        return f"{self.ws_base}/ws/branches/{self.branch}?{query}"

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                with connect(self.url(), open_timeout=5, close_timeout=1) as ws:
                    self.connects += 1
                    while not self._halt.is_set():
                        try:
                            raw = ws.recv(timeout=0.2)
                        except TimeoutError:
                            continue
                        self._handle(json.loads(raw))
                    ws.close()
            except (OSError, WebSocketException) as exc:
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.closes.append((code, type(exc).__name__))
                self.disconnects += 1
                self._halt.wait(0.2)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            return
        with self._changed:
            if self.first_message is None:
                self.first_message = message
            seq = int(message["seq"])
            if kind == "snapshot":
                self.snapshots.append(seq)
            else:
                if self.last >= 0 and seq != self.last + 1:
                    self.gaps.append((self.last, seq))
                self.events.append(message)
            self.last = seq
            self._changed.notify_all()

    def wait_for(self, seq: int, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.last < seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def wait_connected(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.first_message is not None:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def called_numbers(self) -> list[str]:
        return [e["data"]["number"] for e in self.events if e["type"] == "ticket.called"]
