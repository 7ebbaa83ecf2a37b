"""A lean HTTP/1.1 keep-alive client for the benchmarks.

httpx costs the load generator about 1.6 ms of CPU per request; on a 2-core machine
that is most of a core taken from the server being measured. This client writes a
request and reads the status line, the headers and a Content-Length body: about
0.1 ms per request. Only for our own server on loopback (no chunked bodies, no TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class Connection:
    """One keep-alive connection; requests on it go one at a time."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.headers = headers or {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body). A kept-alive connection the server has closed meanwhile
        (uvicorn closes idle ones after 5 s) is opened again and the request sent once
        more, as httpx does."""
        reused = self._writer is not None and not self._writer.is_closing()
        try:
            return await self._send(method, path, body, headers)
        except (ConnectionError, asyncio.IncompleteReadError):
            if not reused:
                raise
            await self.close()
            return await self._send(method, path, body, headers)

    async def _send(
        self, method: str, path: str, body: Any, headers: dict[str, str] | None
    ) -> tuple[int, bytes]:
        if self._writer is None or self._writer.is_closing():
            await self.open()
        assert self._reader is not None and self._writer is not None
        data = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines.append(f"Content-Length: {len(data)}")
        if body is not None:
            lines.append("Content-Type: application/json")
        for name, value in {**self.headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length = 0
        close = False
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self._reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None
