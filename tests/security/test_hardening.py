"""The hardening a bank's security review asks for, against the live server: the error
shape for dates out of range, security headers on every answer, CSRF refusals with
httpx, invisible characters refused, private files, no password in a log line, host
names for absolute addresses, Secure cookies behind HTTPS."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.db import Database
from tests.support import KIOSK_TOKEN, PASSWORDS, LiveServer, live_server, make_config

RTL_OVERRIDE = "\u202e"


def with_server(config: Any, **server: Any) -> Any:
    return config.model_copy(update={"server": config.server.model_copy(update=server)})


@pytest.mark.parametrize(
    "path",
    ["/api/v1/branches/b1/stats", "/api/v1/branches/b1/stats.csv", "/dashboard/b1/summary.json"],
)
@pytest.mark.parametrize(
    "query",
    [{"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "0001-01-01T00:00:00"}],
)
def test_dates_out_of_range_are_refused_in_the_error_shape(
    server: LiveServer, path: str, query: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {server.token('manager')}"}
    response = httpx.get(server.url + path, params=query, headers=headers, timeout=30)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_date"


def test_every_answer_carries_the_security_headers(server: LiveServer) -> None:
    paths = [
        "/counter/b1",
        "/dashboard/b1",
        "/kiosk/b1/k1",
        "/display/b1/tv1",
        "/api/v1/health",
        "/api/v1/no-such-thing",
        "/docs",
        "/t/not-a-ticket",
    ]
    for path in paths:
        response = httpx.get(server.url + path, timeout=30)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, path
        script_src = csp.split("script-src")[1].split(";")[0]
        assert "'unsafe-inline'" not in script_src, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
        assert response.headers["x-frame-options"] == "DENY", path
    docs = httpx.get(server.url + "/docs", timeout=30).headers["content-security-policy"]
    assert "'sha256-" in docs  # Swagger's own start-up script, by hash


class TestCsrf:
    def cookie_client(self, server: LiveServer) -> httpx.Client:
        client = httpx.Client(base_url=server.url, timeout=30)
        signed_in = client.post(
            "/api/v1/auth/login",
            json={"username": "teller1", "password": PASSWORDS["teller1"]},
        )
        assert signed_in.status_code == 200
        assert "lobbyq_session" in client.cookies
        return client

    def test_a_cookie_write_must_come_from_the_own_origin(self, server: LiveServer) -> None:
        call = "/api/v1/branches/b1/counters/1/open"
        client = self.cookie_client(server)
        try:
            port = server.url.rsplit(":", 1)[1]
            other = f"http://127.0.0.1:{int(port) + 1}"
            refusals = [
                client.post(call, headers={"Origin": other}),
                client.post(call, headers={"Origin": "null"}),
                client.post(call, headers={"Referer": other + "/x"}),
            ]
            for refused in refusals:
                assert refused.status_code == 403
                assert refused.json()["error"]["code"] == "cross_origin"
            form = client.post(  # what an HTML form can send
                call,
                headers={"Origin": server.url, "Content-Type": "text/plain"},
                content=b"{}",
            )
            assert form.status_code == 403 and form.json()["error"]["code"] == "json_required"
            own = client.post(call, headers={"Origin": server.url})
            assert own.status_code == 200
            referred = client.post(
                "/api/v1/branches/b1/counters/1/pause", headers={"Referer": server.url + "/x"}
            )
            assert referred.status_code == 200
            # Neither Origin nor Referer: not a browser (a script keeping its cookie).
            assert client.post("/api/v1/branches/b1/counters/1/resume").status_code == 200

        finally:
            client.close()

    def test_bearer_clients_are_unaffected(self, server: LiveServer) -> None:
        with server.client("teller2") as teller:
            response = teller.post(
                "/branches/b1/counters/2/open", headers={"Origin": "http://evil.example"}
            )
            assert response.status_code == 200


def test_invisible_characters_are_refused(server: LiveServer) -> None:
    with server.client("manager") as manager, server.client("kiosk") as kiosk:
        for text in (RTL_OVERRIDE, "\u2066", "\u200b", "\u200f", "\ufeff"):
            notice = manager.put("/branches/b1/notice", json={"zh": f"通知{text}", "en": "x"})
            assert notice.status_code == 422, text
            assert notice.json()["error"]["code"] == "invisible_character"
        escaped = manager.put(
            "/branches/b1/notice",
            content=b'{"zh": "\\u202Eabc", "en": "x"}',
            headers={"Content-Type": "application/json"},
        )
        assert escaped.status_code == 422
        appointment = manager.post(
            "/branches/b1/appointments",
            json={"service": "A", "at": "2026-11-30T03:00:00Z", "customer_name": "王\u202e五"},
        )
        assert appointment.status_code == 422
        csv = f"service,at,customer_name\nA,2026-11-30 11:00,李{RTL_OVERRIDE}四\n"
        for body, kind in ((csv.encode("gb18030"), "text/csv"),):
            imported = manager.post(
                "/branches/b1/appointments/import", content=body, headers={"Content-Type": kind}
            )
            assert imported.status_code == 422
        multipart = manager.post(
            "/branches/b1/appointments/import",
            files={"file": ("a.csv", csv.encode("utf-8"), "text/csv")},
        )
        assert multipart.status_code == 422
        ticket = kiosk.post("/branches/b1/tickets", json={"service": "A"}).json()
        ok = manager.put("/branches/b1/notice", json={"zh": "家庭 👨\u200d👩\u200d👧", "en": "x"})
        assert ok.status_code == 200  # the zero-width joiner of emoji stays allowed
    comment = httpx.post(
        f"{server.api}/tickets/{ticket['token']}/feedback",
        json={"rating": 5, "comment": f"good{RTL_OVERRIDE}"},
        timeout=30,
    )
    assert comment.status_code == 422


def test_database_and_data_files_are_private(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    config = make_config(database_url, data)
    users = [u.model_copy(update={"password": ""}) for u in config.users]
    config = config.model_copy(update={"users": users})
    with caplog.at_level(logging.DEBUG), live_server(config) as server:
        httpx.get(f"{server.api}/health", timeout=30)
    # The SQLite file and its -wal/-shm; on Postgres, a SQLite file made the same way.
    is_sqlite = database_url.startswith("sqlite")
    database = Path(database_url.removeprefix("sqlite:///")) if is_sqlite else tmp_path / "other.db"
    if not is_sqlite:
        Database(f"sqlite:///{database}").dispose()
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    passwords = data / "initial-passwords.txt"
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    generated = [line.split("\t")[1] for line in passwords.read_text().splitlines()]
    assert len(generated) == len(users)
    for password in generated:
        assert password not in caplog.text  # in the 0600 file, never in a log line
    # An older install's 0644 database is tightened at the next start.
    database.chmod(0o644)
    Database(f"sqlite:///{database}").dispose()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("allowed", "host", "expected"),
    [
        ([], "evil.example", None),
        ([], "192.168.1.20:8000", "http://192.168.1.20:8000/t/"),
        (["lobby.bank.example"], "lobby.bank.example:8000", "http://lobby.bank.example:8000/t/"),
        (["lobby.bank.example"], "evil.example", None),
    ],
)
def test_absolute_addresses_use_only_allowed_hosts(
    database_url: str, tmp_path: Path, allowed: list[str], host: str, expected: str | None
) -> None:
    config = with_server(make_config(database_url, tmp_path / "data"), allowed_hosts=allowed)
    with live_server(config) as server:
        ticket = httpx.post(
            f"{server.api}/branches/b1/tickets",
            json={"service": "A", "print": False},
            headers={"Authorization": f"Bearer {KIOSK_TOKEN}", "Host": host},
            timeout=30,
        ).json()
        track = ticket["track_url"]
        if expected is None:
            assert track.startswith(server.url + "/t/"), track  # the server's own address
        else:
            assert track.startswith(expected), track


def test_cookies_are_secure_behind_https(database_url: str, tmp_path: Path) -> None:
    config = with_server(
        make_config(database_url, tmp_path / "data"), trusted_proxies=["127.0.0.1"]
    )
    body = {"username": "teller1", "password": PASSWORDS["teller1"]}
    with live_server(config) as server:
        https = httpx.post(
            f"{server.api}/auth/login",
            json=body,
            headers={"X-Forwarded-Proto": "https"},
            timeout=30,
        )
        assert "Secure" in https.headers["set-cookie"]
        plain = httpx.post(f"{server.api}/auth/login", json=body, timeout=30)
        assert "Secure" not in plain.headers["set-cookie"]
