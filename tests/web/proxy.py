"""A loopback TCP proxy between a browser and the live server that can do to a
WebSocket what a real network does: cut every connection, refuse new ones for a
while, and lose one message (a server frame whose JSON `seq` is in `lose`)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    """The HTTP head (up to the blank line) and whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _hang_up(conn: socket.socket) -> None:
    """shutdown() before close(): on Linux a close() alone does not wake another thread
    blocked in recv() on the socket, which then keeps the connection open."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


@dataclass
class DropProxy:
    """`GET /harness` is answered by the proxy itself with `harness` (an HTML page), so
    the page's origin is the proxy's and its WebSocket goes through it."""

    target_port: int
    harness: bytes = b""
    refuse: bool = False
    lose: set[int] = field(default_factory=set)
    lost: list[int] = field(default_factory=list)
    _live: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Every open connection dies at once, as when a cable is pulled."""
        with self._lock:
            conns, self._live = list(self._live), set()

        for conn in conns:
            _hang_up(conn)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        with self._lock:
            self._live.update((client, upstream))

        try:
            head, rest = _read_head(client)
            if self.refuse:  # also a connection the browser opened ahead of time
                return
            if head.startswith(b"GET /harness "):
                client.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                    % len(self.harness)
                    + self.harness
                )
                return
            websocket = b"upgrade: websocket" in head.lower()
            if websocket:  # no permessage-deflate: frames stay readable
                head = b"".join(
                    line
                    for line in head.splitlines(keepends=True)
                    if not line.lower().startswith(b"sec-websocket-extensions")
                )
            upstream.sendall(head + rest)
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            if websocket:
                self._frames(upstream, client)
            else:
                self._pipe(upstream, client)
        except (OSError, ConnectionError):
            pass
        finally:
            with self._lock:
                self._live.difference_update((client, upstream))
            for conn in (client, upstream):
                _hang_up(conn)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _frames(self, server: socket.socket, client: socket.socket) -> None:
        head, rest = _read_head(server)
        client.sendall(head)
        buffered = rest
        while True:
            while len(buffered) < 2:
                chunk = server.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            length = buffered[1] & 0x7F
            start = 2
            if length == 126:
                buffered += b"" if len(buffered) >= 4 else _recv_exact(server, 4 - len(buffered))
                length, start = int.from_bytes(buffered[2:4], "big"), 4
            elif length == 127:
                buffered += b"" if len(buffered) >= 10 else _recv_exact(server, 10 - len(buffered))
                length, start = int.from_bytes(buffered[2:10], "big"), 10
            if len(buffered) < start + length:
                buffered += _recv_exact(server, start + length - len(buffered))
            frame, buffered = buffered[: start + length], buffered[start + length :]
            if frame[0] & 0x0F == 0x1 and self.lose:
                with contextlib.suppress(ValueError):
                    seq = json.loads(frame[start:]).get("seq")
                    if seq in self.lose:
                        self.lose.discard(seq)
                        self.lost.append(seq)
                        continue
            client.sendall(frame)
