"""A whole small day against a real `lobbyq serve --log-format json` (real voice):
every line of its output is a JSON object (no library chatter such as pyttsx3's
"Audio saved to ..."), there is one access line per request with method, path,
status and ms, and no password or token used during the day appears in any line."""

from __future__ import annotations

import json
import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.scale.procs import ServerProcess, config_data, login, write_config
from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, PASSWORDS

WRONG_PASSWORD = "not-the-right-pass-42"


def day(server: ServerProcess, secrets: set[str]) -> int:
    """The day's traffic; returns how many HTTP requests and WebSockets it made."""
    made = 0
    tokens = {u: login(server.api, u, PASSWORDS[u]) for u in ("teller1", "teller2", "manager")}
    made += 3
    secrets.update(tokens.values())
    refused = httpx.post(
        f"{server.api}/auth/login", json={"username": "teller1", "password": WRONG_PASSWORD}
    )
    assert refused.status_code == 401
    made += 1

    def client(token: str) -> httpx.Client:
        return httpx.Client(
            base_url=server.api, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    with client(KIOSK_TOKEN) as kiosk, client(tokens["teller1"]) as t1, client(
        tokens["manager"]
    ) as manager:
        tickets = []
        for service in "AABAB":
            response = kiosk.post("/branches/b1/tickets", json={"service": service})
            assert response.status_code == 201
            tickets.append(response.json())
        made += 5
        secrets.update(t["token"] for t in tickets)
        at = (datetime.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        booked = manager.post(
            "/branches/b1/appointments", json={"service": "A", "at": at, "customer_name": "王"}
        )
        assert booked.status_code == 201, booked.text
        secrets.add(booked.json()["code"])
        made += 1
        assert manager.delete(f"/branches/b1/appointments/{booked.json()['code']}").is_success
        made += 1
        assert t1.post("/branches/b1/counters/1/open").status_code == 200
        for _ in range(2):
            assert t1.post("/branches/b1/counters/1/call-next").status_code == 200
            assert t1.post("/branches/b1/counters/1/complete").status_code == 200
        made += 5
        first = tickets[0]["token"]
        assert httpx.get(f"{server.api}/tickets/{first}").status_code == 200
        feedback = httpx.post(f"{server.api}/tickets/{first}/feedback", json={"rating": 5})
        assert feedback.status_code == 200, feedback.text
        assert httpx.delete(f"{server.api}/tickets/{tickets[4]['token']}").status_code == 200
        assert httpx.get(f"{server.url}/t/{tickets[3]['token']}").status_code == 200
        qr = httpx.get(f"{server.url}/kiosk/qr.svg", params={"data": tickets[3]["track_url"]})
        assert qr.status_code == 200
        made += 5
        for page, token in (("/display/b1/tv1", DISPLAY_TOKEN), ("/kiosk/b1/k1", KIOSK_TOKEN)):
            assert httpx.get(f"{server.url}{page}", params={"token": token}).status_code == 303
            made += 1
        with connect(f"{server.ws}/ws/branches/b1?token={DISPLAY_TOKEN}") as ws:
            assert json.loads(ws.recv(timeout=60))["type"] == "snapshot"
        with connect(f"{server.ws}/ws/tickets/{tickets[3]['token']}") as ws:
            assert json.loads(ws.recv(timeout=60))["type"] == "ticket"
        made += 2
        assert manager.get("/branches/b1/stats").status_code == 200
        assert t1.post("/auth/logout").status_code in (200, 204)
        made += 2
    return made


def test_a_days_log_is_json_one_line_a_request_and_holds_no_secret(workdir: Path) -> None:
    data = config_data(
        f"sqlite:///{workdir / 'lobbyq.db'}",
        workdir / "data",
        users=("teller1", "teller2", "manager"),
    )
    config = write_config(workdir / "lobbyq.toml", data)
    server = ServerProcess(
        config, log=workdir / "server.log", args=("--log-format", "json")
    ).start()
    secrets = {PASSWORDS[u] for u in ("teller1", "teller2", "manager")}
    # No secret_key in the config: the server made one in its data folder (0600).
    key = (workdir / "data" / "secret_key").read_text().strip()
    secrets |= {WRONG_PASSWORD, KIOSK_TOKEN, DISPLAY_TOKEN, key}
    try:
        made = day(server, secrets)
    finally:
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=30)

    text = server.log.read_text(encoding="utf-8")
    lines: list[dict[str, Any]] = []
    for raw in text.splitlines():
        assert raw.startswith("{"), f"not a JSON log line: {raw!r}"
        lines.append(json.loads(raw))
    requests = [line for line in lines if line.get("logger") == "lobbyq.access"]
    health_checks = [r for r in requests if r["path"] == "/api/v1/health"]
    assert len(requests) - len(health_checks) == made
    for request in requests:
        assert {"time", "level", "method", "path", "status", "ms"} <= request.keys()
        assert request["level"] == "INFO" and isinstance(request["ms"], float)
    shown = {(r["method"], r["path"], r["status"]) for r in requests}
    assert ("GET", "/api/v1/tickets/***", 200) in shown
    assert ("POST", "/api/v1/tickets/***/feedback", 200) in shown
    assert ("GET", "/t/***", 200) in shown
    assert ("WS", "/ws/tickets/***", 101) in shown
    assert ("WS", "/ws/branches/b1?token=***", 101) in shown
    assert ("GET", "/display/b1/tv1?token=***", 303) in shown
    assert ("POST", "/api/v1/auth/login", 401) in shown
    # No secret of the day in any line, whatever wrote it.
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []
    # The voice did speak (so its library had its chance to chatter).
    assert list((workdir / "data" / "audio").glob("*.wav"))
