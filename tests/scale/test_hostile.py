"""Hostile input: a fuzzer on the OpenAPI schema, oversized bodies, path tricks,
HTML/JS in names and notices, password guessing, expired tokens, and a
route-by-route proof that every state-changing route refuses the wrong role."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.config import AppConfig
from tests.support import (
    DISPLAY_TOKEN,
    KIOSK_TOKEN,
    PASSWORDS,
    LiveServer,
    live_server,
    make_config,
)

# --- the fuzzer -------------------------------------------------------------------------

FIXED_PARAMETERS = """
[parameters]
"path.branch" = "b1"
"path.counter" = "1"
"path.service" = "A"
"""


def schemathesis(server: LiveServer, token: str | None, config: Path | None) -> str:
    """One bounded schemathesis run; returns its output; fails on any 5xx."""
    command = [str(Path(sys.executable).parent / "schemathesis")]
    if config is not None:
        command += ["--config-file", str(config)]
    command += [
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "5",
        "--workers",
        "1",
        "--seed",
        "7",
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert "Server error" not in output and done.returncode == 0, output[-6000:]
    return output


@pytest.mark.timeout(900)  # three bounded runs over ~90 routes; slow on a busy CI machine
def test_schemathesis_finds_no_server_error(server: LiveServer, tmp_path: Path) -> None:
    manager = server.token("manager")
    # Something to act on: the manager holds counter 1 with tickets waiting.
    with server.client("manager") as http:
        assert http.post("/branches/b1/counters/1/open").status_code == 200
    with server.client("kiosk") as http:
        for service in ("A", "B", "A"):
            assert http.post("/branches/b1/tickets", json={"service": service}).status_code == 201
    fixed = tmp_path / "schemathesis.toml"
    fixed.write_text(FIXED_PARAMETERS, encoding="utf-8")
    schemathesis(server, manager, fixed)  # deep: real branch, counter and service
    schemathesis(server, KIOSK_TOKEN, fixed)  # as a kiosk
    output = schemathesis(server, None, None)  # anonymous, fuzzed paths too
    assert "generated" in output  # it really ran test cases


# --- bodies and paths --------------------------------------------------------------------


def raw_request(server: LiveServer, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """An HTTP/1.1 request sent byte for byte (no client normalising the path)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
    status_line = data.split(b"\r\n", 1)[0]
    parts = status_line.split()
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), data


def get_raw(server: LiveServer, path: bytes) -> tuple[int, bytes]:
    return raw_request(
        server, b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )


def test_oversized_bodies_get_413(server: LiveServer) -> None:
    big = json.dumps({"service": "A", "customer_ref": "x" * 200_000}).encode()
    with server.client("kiosk") as http:
        response = http.post(
            "/branches/b1/tickets", content=big, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: streamed
            for i in range(0, len(big), 8192):
                yield big[i : i + 8192]

        response = http.post(
            "/branches/b1/tickets", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
    status, _ = raw_request(
        server,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99999999999999999999\r\nConnection: close\r\n\r\n",
    )
    assert 400 <= status < 500


PATH_TRICKS = [
    b"/../../../../etc/passwd",
    b"/api/v1/../../../../etc/passwd",
    b"/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/static/swagger/..%2f..%2f..%2f..%2fetc%2fpasswd",
    b"/static/swagger/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/static/kiosk/..%2f..%2f..%2fserver%2fconfig.py",
    b"/static/kiosk/%2e%2e%2f%2e%2e%2fpyproject.toml",
    b"/static/display/..%2f..%2fpyproject.toml",
    b"/static/counter/....//....//pyproject.toml",
    b"/static/dashboard/%252e%252e%252fpyproject.toml",
    b"/static/kit/../../../pyproject.toml",
    b"/static/%2e%2e/server/config.py",
    b"/audio/..%2f..%2f..%2fetc%2fpasswd",
    b"/audio/%00.wav",
    b"/api/v1/tickets/%00",
    b"/api/v1/branches/b1%00/services",
    b"/t/%00%ff%fe",
    b"/kiosk/b1/k1%00?token=%00",
    b"/api/v1/branches/" + b"b" * 20_000 + b"/services",
    b"/t/" + b"%2e" * 5_000,
    b"/" + b"a/" * 4_000,
]


@pytest.mark.parametrize("path", PATH_TRICKS, ids=lambda p: p[:40].decode(errors="replace"))
def test_path_tricks_get_4xx_and_leak_nothing(server: LiveServer, path: bytes) -> None:
    status, data = get_raw(server, path)
    assert 400 <= status < 500, data[:300]
    assert b"root:x:0:0" not in data
    assert b"[build-system]" not in data
    assert b"secret_key" not in data


def test_nul_characters_are_refused_not_crashed_on(server: LiveServer) -> None:
    """PostgreSQL cannot store NUL in text: without a check these were 500s there."""
    nul = "a\x00b"
    cases = [
        ("kiosk", "POST", "/branches/b1/tickets", {"service": "A", "customer_ref": nul}),
        (None, "POST", "/auth/login", {"username": nul, "password": "whatever-1"}),
        ("manager", "PUT", "/branches/b1/notice", {"zh": nul, "en": "x"}),
        (None, "GET", "/tickets/a%00b", None),
        (None, "DELETE", "/tickets/a%00b", None),
    ]
    for who, method, path, body in cases:
        with server.client(who) as http:
            response = http.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert "error" in response.json()
    with server.client("manager") as http:  # and the server is fine afterwards
        assert http.get("/branches/b1/queue").status_code == 200


# --- HTML and JS where names and notices are shown ------------------------------------------

XSS_IMG = "<img src=x onerror=window.__xss=1>现金"
XSS_SCRIPT = "<script>window.__xss=2</script>Cash"
XSS_NOTICE = {
    "zh": '<svg onload="window.__xss=3">公告',
    "en": "</div><script>window.__xss=4</script>",
}


@pytest.fixture
def hostile_config(database_url: str, tmp_path: Path) -> AppConfig:
    return make_config(
        database_url,
        tmp_path / "data",
        services=[
            {"code": "A", "prefix": "A", "name": {"zh": XSS_IMG, "en": XSS_SCRIPT}},
            {"code": "B", "prefix": "B", "name": {"zh": "非现金", "en": "Non-cash"}},
            {"code": "C", "prefix": "C", "name": {"zh": "对公", "en": "Corporate"}},
        ],
        counters=[
            {"number": "1", "services": ["A", "B"], "name": {"zh": XSS_IMG, "en": XSS_SCRIPT}},
            {"number": "2", "services": ["A", "B"]},
            {"number": "3", "services": ["B"]},
            {"number": "4", "services": ["C"]},
        ],
    )


def test_names_and_notices_with_html_are_escaped_on_every_page(
    hostile_config: AppConfig, page: Any, screenshot_dir: Path
) -> None:
    with live_server(hostile_config) as server:
        with server.client("manager") as http:
            assert http.put("/branches/b1/notice", json=XSS_NOTICE).status_code == 200
        with server.client("kiosk") as http:
            ticket = http.post("/branches/b1/tickets", json={"service": "A"}).json()
            http.post("/branches/b1/tickets", json={"service": "A"})
        manager = server.token("manager")
        page.context.add_cookies([{"name": "lobbyq_session", "value": manager, "url": server.url}])
        pages = {
            "display": f"/display/b1/tv1?token={DISPLAY_TOKEN}",
            "kiosk": f"/kiosk/b1/k1?token={KIOSK_TOKEN}",
            "counter": "/counter/b1",
            "dashboard": "/dashboard/b1",
            "ticket": f"/t/{ticket['token']}",
        }
        for name, path in pages.items():
            response = page.goto(server.url + path, wait_until="load")
            assert response is not None and response.status < 400, (name, response)
            if name == "display":
                # A call shown live: the counter's and the service's names arrive by WebSocket.
                page.wait_for_timeout(800)
                with server.client("manager") as http:
                    http.post("/branches/b1/counters/1/open")
                    assert http.post("/branches/b1/counters/1/call-next").status_code == 200
            page.wait_for_timeout(1500)
            assert page.evaluate("typeof window.__xss") == "undefined", name
            page.screenshot(path=str(screenshot_dir / f"scale_xss_{name}.png"))
        # The texts are still there, shown as text.
        page.goto(server.url + f"/t/{ticket['token']}", wait_until="load")
        page.wait_for_timeout(500)
        assert "<img src=x" in page.inner_text("body") or "<script>" in page.inner_text("body")


# --- sign-in -----------------------------------------------------------------------------------


def test_login_is_rate_limited(server: LiveServer) -> None:
    limit = server.config.server.login_attempts_per_minute
    url = f"{server.api}/auth/login"
    for _ in range(limit):
        response = httpx.post(url, json={"username": "teller1", "password": "wrong-guess"})
        assert response.status_code == 401
    refused = httpx.post(url, json={"username": "teller1", "password": "wrong-guess"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "login_rate_limited"
    # Even the right password waits now: guessing cannot go on.
    right = httpx.post(url, json={"username": "teller1", "password": PASSWORDS["teller1"]})
    assert right.status_code == 429
    # Another account is not locked by it.
    other = httpx.post(url, json={"username": "teller2", "password": PASSWORDS["teller2"]})
    assert other.status_code == 200


def test_tokens_and_sessions_expire(database_url: str, tmp_path: Path) -> None:
    config = make_config(database_url, tmp_path / "data")
    short = config.model_copy(
        update={"server": config.server.model_copy(update={"token_ttl_hours": 1 / 3600})}
    )
    with live_server(short) as server:
        login = httpx.post(
            f"{server.api}/auth/login",
            json={"username": "teller1", "password": PASSWORDS["teller1"]},
        )
        token = login.json()["access_token"]
        assert login.json()["expires_in"] == 1
        assert "max-age=1" in login.headers["set-cookie"].lower()
        fresh = httpx.get(f"{server.api}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert fresh.status_code == 200
        time.sleep(2.2)
        stale = httpx.get(f"{server.api}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert stale.status_code == 401
        assert stale.json()["error"]["code"] == "token_expired"
        cookie = httpx.post(
            f"{server.api}/branches/b1/counters/1/open",
            cookies={"lobbyq_session": token},
            headers={"Origin": server.url},  # from the own page, as a browser sends it
        )
        assert cookie.status_code == 401
        ws = server.url.replace("http://", "ws://") + f"/ws/branches/b1?token={token}"
        with connect(ws, open_timeout=5) as socket_, pytest.raises(ConnectionClosed) as closed:
            socket_.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        # Device tokens from the config do not expire.
        device = httpx.get(
            f"{server.api}/branches/b1/queue", headers={"Authorization": f"Bearer {DISPLAY_TOKEN}"}
        )
        assert device.status_code == 200


# --- who may change what: one row per state-changing route ---------------------------------

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
COUNTER = "/api/v1/branches/{branch}/counters/{counter}"

# (method, path) -> (who may, a valid body). Who:
#   manager            manager or admin
#   staff              any signed-in user
#   kiosk_or_staff     the branch's kiosk, or any signed-in user
#   teller_at_counter  the user signed in at that counter
#   open_counter       any signed-in user, 409 when another holds the counter
#   lobby              the lobby tablet: role lobby, managers and admins
#   counter_device     that counter's own sign or rating pad (no user, no other device)
#   public_token       anyone holding the unguessable ticket token (404 otherwise)
#   public             signing in and out, booking, the opinion book
ROLE_TABLE: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/api/v1/auth/login"): ("public", {"username": "x", "password": "y"}),
    ("POST", "/api/v1/auth/logout"): ("public", None),
    ("POST", "/api/v1/auth/device"): ("public", {"token": "x"}),
    ("POST", "/api/v1/branches/{branch}/tickets"): ("kiosk_or_staff", {"service": "A"}),
    ("DELETE", "/api/v1/tickets/{token}"): ("public_token", None),
    ("POST", "/api/v1/tickets/{token}/feedback"): ("public_token", {"rating": 5}),
    ("PUT", "/api/v1/branches/{branch}/notice"): ("manager", {"zh": "x", "en": "y"}),
    ("PUT", "/api/v1/branches/{branch}/services/{service}/state"): ("manager", {"open": True}),
    ("POST", "/api/v1/branches/{branch}/appointments"): (
        "manager",
        {"service": "A", "at": "2026-11-30T15:00:00"},
    ),
    ("DELETE", "/api/v1/branches/{branch}/appointments/{code}"): ("manager", None),
    ("POST", "/api/v1/branches/{branch}/appointments/import"): ("manager", "service,at\n"),
    ("POST", "/api/v1/branches/{branch}/appointments/{code}/check-in"): ("staff", None),
    ("POST", f"{COUNTER}/open"): ("open_counter", None),
    **{
        ("POST", f"{COUNTER}/{action}"): ("teller_at_counter", body)
        for action, body in {
            "call-next": None,
            "call": {"number": "A001"},
            "recall": None,
            "start": None,
            "complete": {},
            "no-show": None,
            "transfer": {"service": "B"},
            "pause": None,
            "resume": None,
            "close": None,
        }.items()
    },
    # Online bookings and the opinion book (server/customer/booking_routes.py).
    ("POST", "/api/v1/branches/{branch}/bookings"): (
        "public",
        {"service": "A", "at": "2026-12-01T10:00:00", "name": "x", "phone": "13800000000"},
    ),
    ("DELETE", "/api/v1/bookings/{token}"): ("public_token", None),
    ("POST", "/api/v1/branches/{branch}/booking/blocks"): ("manager", {"date": "2026-12-01"}),
    ("DELETE", "/api/v1/branches/{branch}/booking/blocks/{block_id}"): ("manager", None),
    ("POST", "/api/v1/branches/{branch}/opinions"): ("public", {"category": "x", "text": "y"}),
    ("POST", "/api/v1/branches/{branch}/opinions/{opinion_id}/reply"): ("manager", {"text": "x"}),
    ("PUT", "/api/v1/branches/{branch}/opinions/{opinion_id}/status"): (
        "manager",
        {"status": "closed"},
    ),
    # The hall's devices (server/devices/routes.py, kiosk/printer_api.py).
    ("POST", f"{COUNTER}/ratings"): ("counter_device", {"ticket": "A001", "rating": 5}),
    ("POST", f"{COUNTER}/ask-rating"): ("teller_at_counter", None),
    ("PUT", "/api/v1/branches/{branch}/boards/{board}"): ("manager", {"title": "x"}),
    ("POST", "/api/v1/branches/{branch}/boards/rates/csv"): ("manager", "currency,buy,sell\n"),
    ("POST", "/api/v1/branches/{branch}/slides"): ("manager", None),
    ("DELETE", "/api/v1/branches/{branch}/slides/{slide_id}"): ("manager", None),
    ("PUT", "/api/v1/users/{username}/photo"): ("manager", None),
    ("DELETE", "/api/v1/users/{username}/photo"): ("manager", None),
    ("POST", "/api/v1/branches/{branch}/tickets/{number}/move"): ("lobby", {"service": "B"}),
    ("POST", "/api/v1/branches/{branch}/printers/{printer_id}/print"): ("lobby", {"ticket": "x"}),
}

# What each kind of wrong caller must get, per rule.
REFUSALS = {
    "manager": {None: 401, "display": 403, "kiosk": 403, "teller2": 403},
    "staff": {None: 401, "display": 403, "kiosk": 403},
    "kiosk_or_staff": {None: 401, "display": 403},
    "teller_at_counter": {None: 401, "display": 403, "kiosk": 403, "teller2": 403},
    "open_counter": {None: 401, "display": 403, "kiosk": 403, "teller2": 409},
    "lobby": {None: 401, "display": 403, "kiosk": 403, "teller2": 403},
    "counter_device": {None: 401, "display": 403, "kiosk": 403, "teller1": 403, "manager": 403},
}


def state_changing_routes(app: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        for method in getattr(context, "methods", None) or ():
            if method in STATE_CHANGING:
                assert context.path is not None
                found.add((method, context.path))
    return found


def test_every_state_changing_route_has_a_row(server: LiveServer) -> None:
    assert server._server is not None
    routes = state_changing_routes(server._server.config.app)  # the app being served
    assert routes, "no route found: the enumeration is broken"
    missing = sorted(routes - ROLE_TABLE.keys())
    stale = sorted(ROLE_TABLE.keys() - routes)
    assert missing == [], f"add a row to ROLE_TABLE for: {missing}"
    assert stale == [], f"rows for routes that no longer exist: {stale}"


def _request(
    server: LiveServer, method: str, path: str, who: str | None, body: Any
) -> httpx.Response:
    headers: dict[str, str] = {}
    if who == "display":
        headers["Authorization"] = f"Bearer {DISPLAY_TOKEN}"
    elif who == "kiosk":
        headers["Authorization"] = f"Bearer {KIOSK_TOKEN}"
    elif who:
        headers["Authorization"] = f"Bearer {server.token(who)}"
    kwargs: dict[str, Any] = {"headers": headers, "timeout": 10}
    if isinstance(body, str):
        kwargs["content"] = body.encode()
        headers["Content-Type"] = "text/csv"
    elif body is not None:
        kwargs["json"] = body
    return httpx.request(method, server.url + path, **kwargs)


def test_every_state_changing_route_refuses_the_wrong_role(server: LiveServer) -> None:
    with server.client("teller1") as http:
        assert http.post("/branches/b1/counters/1/open").status_code == 200
    with server.client("teller2") as http:
        assert http.post("/branches/b1/counters/2/open").status_code == 200
    with server.client("kiosk") as http:
        ticket = http.post("/branches/b1/tickets", json={"service": "A"}).json()
    with server.client("manager") as http:
        seq_before = http.get("/branches/b1/queue").json()["seq"]

    values = {
        "branch": "b1",
        "counter": "1",
        "service": "A",
        "code": "ZZ99",
        "block_id": "999999",
        "opinion_id": "999999",
        "slide_id": "999999",
        "board": "rates",
        "username": "teller1",
        "number": "A001",
        "printer_id": "p1",
    }
    checked = 0
    for (method, template), (rule, body) in sorted(ROLE_TABLE.items()):
        path = template.format(token="no-such-token-" + "x" * 20, **values)
        if rule == "public_token":
            response = _request(server, method, path, None, body)
            assert response.status_code == 404, (method, template, response.text)
            checked += 1
            continue
        if rule == "public":
            continue
        for who, expected in REFUSALS[rule].items():
            response = _request(server, method, path, who, body)
            assert response.status_code == expected, (method, template, who, response.text)
            assert "error" in response.json(), (method, template, who)
            checked += 1
    assert checked > 40

    # Nothing any refused request tried was written: no event was appended.
    with server.client("manager") as http:
        assert http.get("/branches/b1/queue").json()["seq"] == seq_before
    # The real holder of the ticket token can still act on it.
    assert httpx.get(f"{server.api}/tickets/{ticket['token']}").status_code == 200
