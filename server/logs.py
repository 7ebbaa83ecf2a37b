"""The server's logs: one line per request, text or JSON, with no secret in any line.

- `RequestLog` (ASGI middleware): one INFO line per HTTP request (method, path,
  status, ms, client) and one per WebSocket when it ends, on logger "lobbyq.access".
  The path is written with its secrets taken out (`redact_path`).
- `setup_logging` installs one handler on the root logger (standard error), text or
  JSON (python-json-logger: a maintained formatter log collectors already parse),
  with a `Scrubber` filter: whatever logger wrote a line (ours, uvicorn, a library's
  exception text), known secrets (device tokens, the secret key, configured
  passwords) and token-shaped parts (?token=, Bearer, /t/{token}, user:password@)
  are replaced by *** before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("lobbyq.access")

MASK = "***"
# A path segment after one of these is the customer's secret (a ticket's token, a
# booking's or opinion's code): /t/{token}, /api/v1/tickets/{token}/feedback,
# /ws/tickets/{token}, /bookings/{code}, /opinions/{code}, /appointments/{code}.
SECRET_AFTER = ("t", "tickets", "bookings", "opinions", "appointments")
_SECRET_SEGMENT = re.compile(r"(/(?:" + "|".join(SECRET_AFTER) + r")/)[^/?#\s\"']+")
# Query values never written: tokens, passwords, and the QR code's data (a ticket URL).
SECRET_PARAMS = frozenset({"token", "access_token", "password", "data", "code", "secret", "key"})
_SECRET_PARAM = re.compile(
    r"([?&;](?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&#\s\"']+", re.IGNORECASE
)
_BEARER = re.compile(r"(bearer\s+)[^\s\"',]+", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]+@")
_PASSWORD_FIELD = re.compile(r"(\"?password\"?\s*[:=]\s*\"?)[^\"',\s}]+", re.IGNORECASE)


def redact_path(path: str, query: str = "") -> str:
    """The request's path and query as a log may show them."""
    path = _SECRET_SEGMENT.sub(r"\1" + MASK, path)
    if not query:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs]
    return f"{path}?{urlencode(shown, safe='*')}"


class Scrubber(logging.Filter):
    """Rewrites each record's message (and exception text) without secrets."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _SECRET_SEGMENT.sub(r"\1" + MASK, text)
        text = _SECRET_PARAM.sub(r"\1" + MASK, text)
        text = _BEARER.sub(r"\1" + MASK, text)
        text = _URL_PASSWORD.sub(r"\1" + MASK + "@", text)
        return _PASSWORD_FIELD.sub(r"\1" + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(
    log_format: str = "text", level: str = "info", secrets: Iterable[str] = ()
) -> logging.Handler:
    """One handler on the root logger, on standard error; replaces any earlier one."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(Scrubber(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries' start-up chatter (Alembic lists its plugins and each migration at
    # INFO) stays out unless asked for with --log-level debug.
    for chatty in QUIET_LIBRARIES:
        logging.getLogger(chatty).setLevel(
            logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
        )
    return handler


QUIET_LIBRARIES = ("alembic", "httpx", "httpcore", "asyncio", "multipart", "PIL", "escpos")


def config_secrets(config: Any) -> set[str]:
    """Every secret a config holds: the key, device tokens, passwords in URLs and users."""
    from sqlalchemy.engine import make_url

    server = config.server
    found = {server.secret_key}
    for url in (server.database_url, server.redis_url):
        if url:
            try:
                password = make_url(url).password
            except Exception:  # not a URL SQLAlchemy reads: nothing to take from it
                password = None
            if password:
                found.add(str(password))
    found.update(u.password for u in config.users if u.password)
    for branch in config.branches:
        found.update(k.token for k in branch.kiosks if k.token)
        found.update(d.token for d in branch.displays if d.token)
    return found


class RequestLog:
    """One access line per request (and per WebSocket, when it closes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close" and not status:
                status = 403  # refused before the handshake completed
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except BaseException:
            status = status or 500
            raise
        finally:
            ms = (time.perf_counter() - started) * 1000
            method = scope.get("method", "WS") if kind == "http" else "WS"
            query = scope.get("query_string", b"").decode("latin-1")
            path = redact_path(scope.get("path", ""), query)
            client = (scope.get("client") or ("-",))[0]
            access_log.info(
                "%s %s %d %.1fms %s",
                method,
                path,
                status,
                ms,
                client,
                extra={"method": method, "path": path, "status": status, "ms": round(ms, 1)},
            )
