"""Every public route of bookings and opinions with hostile input: oversized, NUL, RTL
override, emoji, script tags. Never a 5xx; a 4xx in the API's error shape; what is
accepted comes back as the same text, and pages never carry it as markup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.customer.booking_support import TODAY, book, booking_config
from tests.support import KIOSK_TOKEN, FakeClock, LiveServer, live_server

NASTY = [
    "x" * 10_000,
    "a\x00b",
    "\u202eevil\u202c",
    "😀👍🏽",
    "<script>alert(1)</script>",
    "'; DROP TABLE booking; --",
    "../../etc/passwd",
    "%00%2e%2e",
    "",
    " ",
    "١٢٣٤",  # Arabic-Indic digits
]


@pytest.fixture
def hostile_server(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    with live_server(booking_config(database_url, tmp_path / "data"), clock) as server:
        yield server


def check(response: httpx.Response, where: str) -> None:
    assert response.status_code < 500, (where, response.status_code, response.text[:300])
    kind = response.headers.get("content-type", "")
    if response.status_code >= 400 and kind.startswith("application/json"):
        error = response.json()["error"]
        assert error["code"] and error["message"], where


def test_api_routes(hostile_server: LiveServer) -> None:
    api = httpx.Client(base_url=hostile_server.api, timeout=60)
    kiosk = hostile_server.client("kiosk")
    good = {"service": "A", "at": f"{TODAY}T10:30:00+08:00", "name": "王", "phone": "13812345678"}
    for value in NASTY:
        path = quote(value, safe="")
        check(api.get(f"/branches/{path}/booking"), "options")
        check(api.get("/branches/b1/booking/slots", params={"service": value, "date": TODAY}), "s")
        check(api.get("/branches/b1/booking/slots", params={"service": "A", "date": value}), "d")
        check(api.get(f"/bookings/{path}"), "get booking")
        check(api.delete(f"/bookings/{path}"), "cancel booking")
        check(api.get(f"/opinions/{path}"), "follow")
        check(kiosk.get("/branches/b1/bookings/arrivals", params={"last4": value}), "last4")
        for field in ("service", "at", "name", "phone", "lang"):
            check(api.post("/branches/b1/bookings", json={**good, field: value}), field)
        for field in ("category", "text", "contact", "ticket_token", "source"):
            body = {"category": "other", "text": "ok", field: value}
            check(api.post("/branches/b1/opinions", json=body), field)
        check(api.post(f"/branches/{path}/bookings", json=good), "branch")
    check(
        api.post(
            "/branches/b1/bookings",
            content=b"\xff\xfe{",
            headers={"content-type": "application/json"},
        ),
        "bad json",
    )
    check(api.post("/branches/b1/opinions", json=["not", "an", "object"]), "list body")
    huge = api.post("/branches/b1/opinions", json={"category": "other", "text": "x" * 200_000})
    assert huge.status_code == 413


def test_accepted_text_comes_back_the_same(hostile_server: LiveServer) -> None:
    name = "<b>😀</b>"
    made = book(hostile_server, name=name)
    seen = httpx.get(made["manage_url"].replace("/booking/", "/api/v1/bookings/")).json()
    assert seen["name"] == name
    text = "<script>alert(1)</script> 😀 '\"&"
    opinion = httpx.post(
        f"{hostile_server.api}/branches/b1/opinions", json={"category": "other", "text": text}
    ).json()
    follow = opinion["follow_url"].replace("/opinion/", "/api/v1/opinions/")
    assert httpx.get(follow).json()["text"] == text
    for field, value in (("name", "a\u202eb"), ("name", "a\x00b")):
        refused = httpx.post(
            f"{hostile_server.api}/branches/b1/bookings",
            json={
                "service": "A",
                "at": f"{TODAY}T11:00:00+08:00",
                "phone": "13812345678",
                field: value,
            },
        )
        assert refused.status_code == 422


def test_pages(hostile_server: LiveServer) -> None:
    site = httpx.Client(base_url=hostile_server.url, timeout=60)
    site.cookies.set("lobbyq_device", KIOSK_TOKEN)
    made = book(hostile_server, name="<i>x</i>")
    token = made["manage_url"].rsplit("/", 1)[1]
    page = site.get(f"/booking/{token}")
    assert page.status_code == 200 and "<i>x</i>" not in page.text, "escaped in the page"
    for value in NASTY:
        path = quote(value, safe="")
        for url in (
            f"/book/{path}",
            f"/booking/{path}",
            f"/booking/{path}/qr.svg",
            f"/booking/{path}/visit.ics",
            f"/opinion/{path}",
            f"/opinion/{path}/qr.svg",
            f"/suggest/{path}",
        ):
            check(site.get(url), url)
        suggest = site.get(
            "/suggest/b1",
            params={"from": value, "ticket": value[:64], "back": value[:200], "lang": value[:5]},
        )
        check(suggest, "suggest params")
        assert "<script>alert" not in suggest.text
    evil_back = site.get("/suggest/b1", params={"back": "javascript:alert(1)"})
    assert "javascript:" not in evil_back.text
    offsite = site.get("/suggest/b1", params={"back": "//evil.example/x"})
    assert "evil.example" not in offsite.text
