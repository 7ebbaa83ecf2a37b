"""A leaner fan-out to thousands of displays, within uvicorn and ASGI.

The cost of one event at N subscribers is N times the per-subscriber path. Through
plain ASGI that path is: wake the subscriber's task, Starlette's `send_text`, the
exception middleware's `sender`, uvicorn's `send`, the `websockets` protocol building
a Frame object and serialising it (in Python, per client), then `transport.write`.
Measured at 5,000 displays (bench/bench_display.py) that was ~1 s of CPU per event.

A server frame is not masked, so with no extension negotiated it is the same bytes
for every client: `event_frame` builds it once per event. `FanoutWebSocketProtocol` is
uvicorn's `websockets-sansio` protocol plus one ASGI scope extension,
`lobbyq.frames` = `{"write": write(frame) -> bool}`: a synchronous write of such a
ready-made frame straight to the transport, refused (False) whenever it could
not be exact or cheap: before the accept or after a close, with an extension
(permessage-deflate) in use, or while the transport is paused because the client is
not reading. The stream then falls back to its queue and the ordinary ASGI `send`
(which waits, and is watched for slow clients), so every promise of the stream holds.

Run it with `uvicorn.run(app, ws=FANOUT_WS, ws_per_message_deflate=False)`
(`lobbyq serve` does). Under any other server the extension is absent and the stream
uses plain ASGI only.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Opcode
from websockets.protocol import State

EXTENSION = "lobbyq.frames"
FANOUT_WS = "server.realtime.fanout:FanoutWebSocketProtocol"  # for uvicorn's `ws=`

WriteFrame = Callable[[bytes], bool]
GOING_AWAY = 1001


def text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked, uncompressed text frame (RFC 6455 5.2)."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | Opcode.TEXT, length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | Opcode.TEXT, 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | Opcode.TEXT, 127, length)
    return head + payload


def frame_writer(scope: Any) -> WriteFrame | None:
    """The server's ready-made-frame writer for this connection, if it offers one."""
    extension = (scope.get("extensions") or {}).get(EXTENSION)
    if isinstance(extension, dict):
        write = extension.get("write")
        if callable(write):
            return write  # type: ignore[no-any-return]
    return None


class FanoutWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with the `lobbyq.frames` extension."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and not self.close_sent:
            # The ASGI task is created but has not run yet: it sees this.
            scope["extensions"][EXTENSION] = {"write": self.write_frame}

    def shutdown(self) -> None:
        """The server is stopping: close with 1001 "going away" (uvicorn sends 1012),
        which every browser and the pages' reconnect logic read as "come back later"."""
        if self.handshake_complete and not self.close_sent:
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server stopping")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
            return
        super().shutdown()

    def write_frame(self, frame: bytes) -> bool:
        """Write a ready-made server frame now; False (nothing written) if that is not
        possible or not exact, and the caller must use the ASGI `send`."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.conn.extensions
            or self.conn.expect_continuation_frame
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True
