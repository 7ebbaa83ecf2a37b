"""The security middleware, one ASGI layer for every request (docs/security.md):

- **CSRF**: a state-changing request that carries the session or device cookie (and
  no `Authorization` header) must come from the page's own origin: `Origin`, else
  `Referer`, must name the host the request was sent to or the configured `base_url`
  ("null" is refused; a request with neither is not a browser's, as every browser
  sends Origin on a cross-origin write), and must not be a form body (`text/plain`,
  `application/x-www-form-urlencoded`: what an HTML form or a no-CORS fetch of
  another page can send). A WebSocket opened
  with the cookie must come from the own origin too. Bearer clients are unaffected.
- **Invisible characters**: a JSON or CSV body holding a direction override or other
  invisible formatting character (U+202A–202E, U+2066–2069, U+200B/C/E/F, U+2060–2064,
  U+061C, U+180E, U+FEFF past the start) is refused with 422: names, notices, comments
  and imports cannot carry text that reads differently from what it is.
- **Headers** on every answer: a Content-Security-Policy with no inline script
  (`/docs` gets the hashes of Swagger's own fixed start-up script), `frame-ancestors
  'none'` and X-Frame-Options DENY, nosniff, Referrer-Policy; and `Secure` on every
  cookie when the request came over HTTPS (directly, or per a trusted proxy's
  X-Forwarded-Proto, see `trusted_proxy_layer`).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import sys
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.config import ServerSettings
from server.errors import InvalidInput

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUTH_COOKIES = (b"lobbyq_session=", b"lobbyq_device=")
FORM_TYPES = (b"text/plain", b"application/x-www-form-urlencoded")
SCANNED_TYPES = (b"application/json", b"text/csv", b"text/plain", b"application/x-www-form")

# U+200D (zero-width joiner) stays allowed: emoji sequences in comments need it.
INVISIBLE = "\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\u180e\ufeff"
INVISIBLE_TEXT = re.compile(f"[{INVISIBLE}]")
# The same characters as UTF-8 bytes, or as JSON escapes (\u202e), found without
# decoding the body.
INVISIBLE_UTF8 = re.compile(
    b"\xe2\x80[\x8b\x8c\x8e\x8f\xaa-\xae]|\xe2\x81[\xa0-\xa4\xa6-\xa9]|\xd8\x9c|\xe1\xa0\x8e"
    b"|\xef\xbb\xbf"
    rb"|\\u(?:200[bcef]|202[a-e]|206[0-46-9]|061c|180e|feff)",
    re.IGNORECASE,
)
BOM = b"\xef\xbb\xbf"
INVISIBLE_MESSAGE = (
    "text may not contain invisible direction or formatting characters (such as U+202E or U+200B)"
)

CSP = (
    "default-src 'self'; script-src 'self'{extra}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob: data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FIXED_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
PAGE_CSP = CSP.format(extra="").encode()
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
DOCS_PATH = "/docs"  # Swagger UI: fixed content, its start-up script is hashed


def error_response(status: int, code: str, message: str) -> tuple[Message, Message]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def has_invisible(body: bytes) -> bool:
    """Whether a request body holds an invisible formatting character, in UTF-8 or as
    a JSON escape (a CSV import is checked again once decoded: refuse_invisible)."""
    if body.startswith(BOM):
        body = body[len(BOM) :]
    return bool(INVISIBLE_UTF8.search(body))


def refuse_invisible(text: str) -> None:
    """For text decoded by a route (a CSV import in GB18030, or sent as multipart)."""
    if INVISIBLE_TEXT.search(text.removeprefix("\ufeff")):
        raise InvalidInput(INVISIBLE_MESSAGE, code="invisible_character")


def _host_of(origin: bytes) -> bytes | None:
    """The host[:port] of an Origin or Referer value (None for 'null' or garbage)."""
    try:
        parts = urlsplit(origin.decode("latin-1"))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.netloc.lower().encode()


class Guard:
    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.own_hosts: set[bytes] = set()
        if settings.base_url:
            base = _host_of(settings.base_url.encode())
            if base:
                self.own_hosts.add(base)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        csp = PAGE_CSP
        if scope["path"] == DOCS_PATH:
            await self._docs(scope, receive, send, https)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_headers(message.get("headers", []), csp, https)
            await send(message)

        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, secured)
            return
        headers = scope["headers"]
        content_type = b""
        for name, value in headers:
            if name == b"content-type":
                content_type = value.lower()
        refusal = self._cross_site(headers, content_type)
        if refusal is not None:
            await _send_all(secured, error_response(403, *refusal))
            return
        if not content_type.startswith(SCANNED_TYPES):
            await self.app(scope, receive, secured)
            return
        try:
            body = await _read_body(receive)
        except StarletteHTTPException as exc:
            await _send_all(secured, error_response(exc.status_code, "body_too_large", exc.detail))
            return
        if has_invisible(body):
            await _send_all(secured, error_response(422, "invisible_character", INVISIBLE_MESSAGE))
            return
        await self.app(scope, _replay(body, receive), secured)

    def _cross_site(
        self, headers: list[tuple[bytes, bytes]], content_type: bytes
    ) -> tuple[str, str] | None:
        """Why a cookie-carrying write is refused, or None."""
        cookie = origin = referer = host = b""
        for name, value in headers:
            if name == b"authorization":
                return None  # a bearer client: no ambient credential to abuse
            if name == b"cookie":
                cookie = value
            elif name == b"origin":
                origin = value
            elif name == b"referer":
                referer = value
            elif name == b"host":
                host = value.lower()
        if not any(marker in cookie for marker in AUTH_COOKIES):
            return None
        source = origin or referer
        if not source:
            # Not a browser (every browser sends Origin on a cross-origin write), e.g. a
            # script keeping the cookie from its login.
            return None
        source_host = _host_of(source)
        if source_host is None or (source_host != host and source_host not in self.own_hosts):
            return (
                "cross_origin",
                "a signed-in request must come from this server's own pages",
            )
        if content_type.startswith(FORM_TYPES):
            return ("json_required", "send JSON (application/json)")
        return None

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket opened with the cookie (no token) must come from the own
        origin: otherwise a page of another port could read the branch's events."""
        query = scope.get("query_string", b"")
        if b"token=" not in query:
            refusal = self._cross_site_socket(scope["headers"])
            if refusal:
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008, "reason": "cross_origin"})
                return
        await self.app(scope, receive, send)

    def _cross_site_socket(self, headers: list[tuple[bytes, bytes]]) -> bool:
        cookie = origin = host = b""
        for name, value in headers:
            if name == b"authorization":
                return False
            if name == b"cookie":
                cookie = value
            elif name == b"origin":
                origin = value
            elif name == b"host":
                host = value.lower()
        if not origin or not any(marker in cookie for marker in AUTH_COOKIES):
            return False  # non-browser clients send no Origin
        source_host = _host_of(origin)
        return source_host is None or (source_host != host and source_host not in self.own_hosts)

    async def _docs(self, scope: Scope, receive: Receive, send: Send, https: bool) -> None:
        """/docs: the page is Swagger UI's fixed HTML; its inline start-up script is
        allowed by hash, computed from the page itself (no request data is in it)."""
        start: Message = {}
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = b"".join(chunks)
                    hashes = "".join(
                        " 'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'"
                        for s in INLINE_SCRIPT.findall(body)
                    )
                    csp = CSP.format(extra=hashes).encode()
                    start["headers"] = _with_headers(start.get("headers", []), csp, https)
                    await send(start)
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)


def _with_headers(headers: Any, csp: bytes, https: bool) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if https and name == b"set-cookie" and b"; secure" not in value.lower():
            value = value + b"; Secure"
        out.append((name, value))
    out.append((b"content-security-policy", csp))
    out.extend(FIXED_HEADERS)
    return out


async def _send_all(send: Send, messages: tuple[Message, Message]) -> None:
    for message in messages:
        await send(message)


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (bounded by BodyLimit outside this layer)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def internal_error(_: Request, exc: Exception) -> Response:
    """Whatever went wrong, the answer keeps the error shape (the trace goes to the log)."""
    del exc
    return JSONResponse(
        {"error": {"code": "internal_error", "message": "internal error"}}, status_code=500
    )


def show_generated_passwords(generated: list[tuple[str, str]]) -> None:
    """Generated passwords go to the terminal once, when there is one, and to the
    0600 file in the data folder (server/bootstrap.py); never into a log line."""
    if not generated or not sys.stderr.isatty():
        return
    for username, password in generated:
        print(f"created user {username} with password {password}", file=sys.stderr)


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether a Host header may name this server in absolute addresses (QR codes,
    track_url) when base_url is empty: one of `[server] allowed_hosts` ("*.example"
    matches its subdomains), or with none configured an IP address or localhost (what
    a kiosk on the branch LAN uses), never a name an outsider chose."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    if allowed:
        return any(
            name == entry.lower() or (entry.startswith("*.") and name.endswith(entry[1:].lower()))
            for entry in allowed
        )
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def install_security(app: Any, settings: ServerSettings) -> None:
    """The Guard, and (only with `[server] trusted_proxies`) uvicorn's proxy-headers
    layer outside it, believing X-Forwarded-For/-Proto from those addresses alone.
    `lobbyq serve` turns uvicorn's own proxy handling off: by default it believes
    any X-Forwarded-For from 127.0.0.1, which let a local caller reset the login limit."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app.add_exception_handler(Exception, internal_error)
    app.add_middleware(Guard, settings=settings)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

