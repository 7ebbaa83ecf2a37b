"""A typed Python client for the LobbyQ v1 API (httpx) and its WebSocket (websockets).

    from counter_client.client import LobbyQClient, LobbyQAPIError, follow_branch

    with LobbyQClient("http://127.0.0.1:8000") as api:
        api.login("teller1", "secret")
        api.open_counter("sz01", "3")
        ticket = api.call_next("sz01", "3")      # None when nobody waits

    async for message in follow_branch("http://127.0.0.1:8000", "sz01", token=api.token):
        ...                                      # snapshot first, then events; resumes with since=

Every refusal raises `LobbyQAPIError(status, code, message)` with the server's own
code and message (API.md error shape).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlencode

import httpx

JSON = dict[str, Any]
REFUSED = 1008  # WebSocket close codes of /ws/branches (server/realtime/routes.py)
NOT_FOUND = 4404


class LobbyQAPIError(Exception):
    """The server refused: `status` (HTTP), `code` (snake_case), `message` (human)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.message = message


def _error_from(response: httpx.Response) -> LobbyQAPIError:
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = str(error.get("code") or "http_error")
        message = str(error.get("message") or response.reason_phrase)
    except ValueError:
        code, message = "http_error", response.text.strip()[:200] or response.reason_phrase
    return LobbyQAPIError(response.status_code, code, message)


def _path(*parts: str) -> str:
    return "/".join(quote(part, safe="") for part in parts)


class LobbyQClient:
    """One server, one identity (a user's token or a device token)."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self._http = httpx.Client(
            base_url=f"{self.server}/api/v1", timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport -------------------------------------------------------------------

    def request(self, method: str, path: str, body: JSON | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self._http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise LobbyQAPIError(0, "unreachable", f"cannot reach {self.server}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def _json(self, method: str, path: str, body: JSON | None = None) -> Any:
        response = self.request(method, path, body)
        return response.json() if response.status_code != 204 and response.content else None

    # --- auth and reading ------------------------------------------------------------

    def login(self, username: str, password: str) -> JSON:
        """Sign in; the token is kept for the following calls."""
        out: JSON = self._json("POST", "/auth/login", {"username": username, "password": password})
        self.token = str(out["access_token"])
        return out

    def me(self) -> JSON:
        out: JSON = self._json("GET", "/auth/me")
        return out

    def branches(self) -> list[JSON]:
        out: list[JSON] = self._json("GET", "/branches")
        return out

    def services(self, branch: str) -> list[JSON]:
        out: list[JSON] = self._json("GET", f"/branches/{_path(branch)}/services")
        return out

    def queue(self, branch: str) -> JSON:
        out: JSON = self._json("GET", f"/branches/{_path(branch)}/queue")
        return out

    def counters(self, branch: str) -> list[JSON]:
        out: list[JSON] = self._json("GET", f"/branches/{_path(branch)}/counters")
        return out

    def counter_summary(self, branch: str, counter: str) -> JSON:
        out: JSON = self._json("GET", f"/branches/{_path(branch, 'counters', counter)}/summary")
        return out

    def ticket(self, token: str) -> JSON:
        """A ticket by its public token (what the mobile page shows)."""
        out: JSON = self._json("GET", f"/tickets/{_path(token)}")
        return out

    def issue_ticket(
        self,
        branch: str,
        service: str,
        *,
        priority: str = "normal",
        customer_ref: str | None = None,
        appointment_code: str | None = None,
        lang: str = "zh",
        print_ticket: bool = False,
    ) -> JSON:
        body: JSON = {"service": service, "priority": priority, "lang": lang}
        body["print"] = print_ticket
        if customer_ref:
            body["customer_ref"] = customer_ref
        if appointment_code:
            body["appointment_code"] = appointment_code
        out: JSON = self._json("POST", f"/branches/{_path(branch)}/tickets", body)
        return out

    def cancel_ticket(self, token: str) -> JSON:
        out: JSON = self._json("DELETE", f"/tickets/{_path(token)}")
        return out

    # --- the counter's actions -------------------------------------------------------

    def _counter(self, branch: str, counter: str, action: str, body: JSON | None = None) -> Any:
        return self._json("POST", f"/branches/{_path(branch, 'counters', counter, action)}", body)

    def _ticket(self, branch: str, counter: str, action: str, body: JSON | None = None) -> JSON:
        out: JSON = self._counter(branch, counter, action, body)["ticket"]
        return out

    def open_counter(self, branch: str, counter: str) -> JSON:
        out: JSON = self._counter(branch, counter, "open")["counter"]
        return out

    def pause(self, branch: str, counter: str) -> JSON:
        out: JSON = self._counter(branch, counter, "pause")["counter"]
        return out

    def resume(self, branch: str, counter: str) -> JSON:
        out: JSON = self._counter(branch, counter, "resume")["counter"]
        return out

    def close_counter(self, branch: str, counter: str) -> JSON:
        out: JSON = self._counter(branch, counter, "close")["counter"]
        return out

    def call_next(self, branch: str, counter: str) -> JSON | None:
        """The called ticket, or None when nobody waits for this counter (204)."""
        out = self._counter(branch, counter, "call-next")
        return None if out is None else dict(out["ticket"])

    def call_number(self, branch: str, counter: str, number: str) -> JSON:
        return self._ticket(branch, counter, "call", {"number": number})

    def recall(self, branch: str, counter: str) -> JSON:
        return self._ticket(branch, counter, "recall")

    def start(self, branch: str, counter: str) -> JSON:
        return self._ticket(branch, counter, "start")

    def complete(self, branch: str, counter: str, *, rating: int | None = None) -> JSON:
        return self._ticket(branch, counter, "complete", {"rating": rating} if rating else None)

    def ask_rating(self, branch: str, counter: str) -> JSON:
        """The counter's rating pad asks the customer to rate the ticket just completed."""
        out: JSON = self._counter(branch, counter, "ask-rating")
        return out

    def no_show(self, branch: str, counter: str) -> JSON:
        return self._ticket(branch, counter, "no-show")

    def transfer(
        self,
        branch: str,
        counter: str,
        *,
        service: str | None = None,
        to_counter: str | None = None,
        keep_place: bool = True,
    ) -> JSON:
        body: JSON = {"keep_place": keep_place}
        if service:
            body["service"] = service
        if to_counter:
            body["counter"] = to_counter
        return self._ticket(branch, counter, "transfer", body)


# --- WebSocket -------------------------------------------------------------------------


def ws_url(server: str, branch: str, *, token: str | None, since: int | None) -> str:
    base = server.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    query: dict[str, str] = {}
    if token:
        query["token"] = token
    if since is not None:
        query["since"] = str(since)
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{base}/ws/branches/{quote(branch, safe='')}{suffix}"


async def follow_branch(
    server: str,
    branch: str,
    *,
    token: str | None,
    since: int | None = None,
    retry_s: float = 1.0,
    max_retry_s: float = 10.0,
    reconnect: bool = True,
) -> AsyncIterator[JSON]:
    """Yield the branch's messages: `{"type": "snapshot", "seq", "data"}` first, then
    events `{"type", "seq", "at", "data"}`. On a dropped connection it reconnects with
    `since=` the last seq seen (the server replays what was missed, or sends a fresh
    snapshot). Refused connections (bad token) raise LobbyQAPIError."""
    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    last = since
    delay = retry_s
    while True:
        url = ws_url(server, branch, token=token, since=last)
        try:
            async with websockets.connect(url, open_timeout=10, max_size=2**22) as socket:
                delay = retry_s
                async for raw in socket:
                    message = json.loads(raw)
                    if not isinstance(message, dict) or message.get("type") == "ping":
                        continue
                    seq = message.get("seq")
                    if isinstance(seq, int):
                        if message.get("type") != "snapshot" and last is not None and seq <= last:
                            continue  # already seen (replayed twice across a reconnect)
                        last = seq
                    yield message
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403, 404):
                raise LobbyQAPIError(status, "ws_refused", f"WebSocket refused ({status})") from exc
        except ConnectionClosed as exc:
            # The server accepts, then closes with 1008 (refused token) or 4404
            # (unknown branch): retrying would never help.
            code = exc.rcvd.code if exc.rcvd is not None else None
            if code in (REFUSED, NOT_FOUND):
                reason = exc.rcvd.reason if exc.rcvd is not None else ""
                status = 404 if code == NOT_FOUND else 401
                raise LobbyQAPIError(status, reason or "ws_refused", "WebSocket refused") from exc
        except (OSError, TimeoutError):
            pass
        if not reconnect:
            return
        await asyncio.sleep(delay)
        delay = min(max_retry_s, delay * 2)
