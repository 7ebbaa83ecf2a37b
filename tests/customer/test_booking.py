"""Online bookings against the real server: slots (hours, holidays, 调休, blocks),
booking and its limits, the manage link, arrival at the kiosk, the lobby's list, the
manager's calendar and CSV, reminders, retention, and the last place under concurrency."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.customer.reminders import run_retention, send_due_reminders
from tests.customer.booking_support import TODAY, book, booking_config, public, slots
from tests.customer.test_feedback_webhook import Gateway
from tests.support import FakeClock, LiveServer, live_server


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.stop()


@pytest.fixture
def booking_server(
    database_url: str, tmp_path: Path, clock: FakeClock, gateway: Gateway
) -> Iterator[LiveServer]:
    config = booking_config(database_url, tmp_path / "data", webhook_url=gateway.url)
    with live_server(config, clock) as server:
        yield server


class TestSlots:
    def test_hours_holidays_and_working_weekends(self, booking_server: LiveServer) -> None:
        today = slots(booking_server)
        first = f"{TODAY}T10:30:00+08:00"
        assert next(iter(today)) == first, "slots already begun are not offered"
        assert list(today)[-1] == f"{TODAY}T16:30:00+08:00", "the last slot ends at closing"
        assert set(today.values()) == {2}
        assert slots(booking_server, day="2026-12-02") == {}, "a holiday has no slots"
        assert slots(booking_server, day="2026-12-06") == {}, "Sunday is closed"
        saturday = slots(booking_server, "B", day="2026-12-05")
        assert list(saturday) == [
            f"2026-12-05T{h}+08:00"
            for h in ("09:00:00", "09:30:00", "10:00:00", "10:30:00", "11:00:00", "11:30:00")
        ]
        options = public(booking_server).get("/branches/b1/booking").json()
        assert [s["code"] for s in options["services"]] == ["A", "B"], "C is not bookable"
        assert "2026-12-02" not in options["days"] and "2026-12-05" in options["days"]
        assert options["days"][-1] == "2026-12-07"

    def test_outside_the_window_and_unbookable_services(self, booking_server: LiveServer) -> None:
        client = public(booking_server)
        for params, code in [
            ({"service": "A", "date": "2026-12-08"}, "day_out_of_range"),
            ({"service": "A", "date": "2026-11-29"}, "day_out_of_range"),
            ({"service": "C", "date": TODAY}, "service_not_bookable"),
            ({"service": "Z", "date": TODAY}, "service_not_bookable"),
        ]:
            response = client.get("/branches/b1/booking/slots", params=params)
            assert response.status_code == 422, params
            assert response.json()["error"]["code"] == code
        assert client.get("/branches/nope/booking/slots", params={"service": "A", "date": TODAY}
                          ).status_code == 404


class TestBook:
    def test_book_see_and_cancel(self, booking_server: LiveServer) -> None:
        made = book(booking_server, phone="138 1234 5678")
        assert made["code"].isdigit() and len(made["code"]) == 6
        assert made["at"] == f"{TODAY}T10:30:00+08:00" and made["service"] == "A"
        assert made["phone"] == "138****5678" and made["status"] == "booked"
        token = made["manage_url"].rsplit("/", 1)[1]
        assert made["manage_url"].startswith(booking_server.url + "/booking/")
        assert slots(booking_server)[made["at"]] == 1
        seen = public(booking_server).get(f"/bookings/{token}").json()
        assert seen["code"] == made["code"] and "13812345678" not in str(seen)
        # It is an appointment like any other: the staff list has it.
        listed = booking_server.client("manager").get("/branches/b1/appointments").json()
        assert [a["code"] for a in listed] == [made["code"]]
        cancelled = public(booking_server).delete(f"/bookings/{token}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert slots(booking_server)[made["at"]] == 2, "the place is free again"
        again = public(booking_server).delete(f"/bookings/{token}")
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_cancelled"
        assert public(booking_server).get("/bookings/not-a-real-token-x").status_code == 404

    def test_full_slot_and_phone_limit_are_409(self, booking_server: LiveServer) -> None:
        at = f"{TODAY}T11:00:00+08:00"
        book(booking_server, at, service="B", phone="13900000001")
        full = book(booking_server, at, service="B", phone="13900000002", expect=409)
        assert full["error"]["code"] == "slot_full"
        book(booking_server, f"{TODAY}T11:30:00+08:00", phone="13700000000")
        book(booking_server, f"{TODAY}T12:00:00+08:00", phone="13700000000")
        limited = book(booking_server, f"{TODAY}T12:30:00+08:00", phone="13700000000", expect=409)
        assert limited["error"]["code"] == "phone_daily_limit"
        book(booking_server, "2026-12-01T12:30:00+08:00", phone="13700000000")  # another day

    def test_bad_phone_and_slots_outside_hours_are_422(self, booking_server: LiveServer) -> None:
        cases = [
            ({"phone": "12345678901"}, "invalid_phone"),
            ({"phone": "1381234567"}, "invalid_phone"),
            ({"phone": "+1 415 555 0100"}, "invalid_phone"),
            ({"at": f"{TODAY}T10:40:00+08:00"}, "slot_outside_hours"),
            ({"at": f"{TODAY}T17:00:00+08:00"}, "slot_outside_hours"),
            ({"at": "2026-12-02T10:00:00+08:00"}, "slot_outside_hours"),
            ({"at": f"{TODAY}T09:30:00+08:00"}, "slot_past"),
            ({"at": "2026-12-30T10:00:00+08:00"}, "day_out_of_range"),
            ({"name": "  "}, "required"),
            ({"name": "名" * 21}, "too_long"),
            ({"service": "C"}, "service_not_bookable"),
        ]
        base = {
            "service": "A", "at": f"{TODAY}T10:30:00+08:00", "name": "李", "phone": "13812345678"
        }
        for change, code in cases:
            response = public(booking_server).post("/branches/b1/bookings", json={**base, **change})
            assert response.status_code == 422, (change, response.text)
            assert response.json()["error"]["code"] == code, change
        ok = public(booking_server).post(
            "/branches/b1/bookings", json={**base, "phone": "+86 138-1234-5678"}
        )
        assert ok.status_code == 201 and ok.json()["phone"] == "138****5678"


class TestArrival:
    def test_check_in_by_code_and_by_last_four(
        self, booking_server: LiveServer, clock: FakeClock
    ) -> None:
        mine = book(booking_server, f"{TODAY}T10:30:00+08:00", name="王芳", phone="13812345678")
        other = book(booking_server, f"{TODAY}T10:30:00+08:00", name="赵敏", phone="13912345678")
        later = book(booking_server, f"{TODAY}T15:00:00+08:00", name="钱七", phone="13612345678")
        kiosk = booking_server.client("kiosk")
        found = kiosk.get("/branches/b1/bookings/arrivals", params={"last4": "5678"})
        assert found.status_code == 200
        names = {b["name"]: b["code"] for b in found.json()}
        assert names == {"王*": mine["code"], "赵*": other["code"]}, "this hour's, masked"
        assert later["code"] not in names.values()
        assert public(booking_server).get(
            "/branches/b1/bookings/arrivals", params={"last4": "5678"}
        ).status_code == 403
        bad = kiosk.get("/branches/b1/bookings/arrivals", params={"last4": "56a8"})
        assert bad.status_code == 422
        clock.advance(20 * 60)  # 10:20: inside the early window of 10:30
        ticket = kiosk.post(
            "/branches/b1/tickets", json={"service": "A", "appointment_code": names["王*"]}
        )
        assert ticket.status_code == 201, ticket.text
        assert ticket.json()["priority"] == "appointment" and ticket.json()["notice"] is None
        lobby = booking_server.client("teller1").get("/branches/b1/bookings").json()
        rows = {b["code"]: b for b in lobby["bookings"]}
        assert rows[mine["code"]]["status"] == "arrived"
        assert rows[mine["code"]]["ticket"] == ticket.json()["number"]
        assert rows[other["code"]]["status"] == "expected"
        assert rows[mine["code"]]["phone"] == "138****5678"
        assert lobby["counts"] == {"expected": 2, "arrived": 1, "missed": 0, "cancelled": 0}
        seen = public(booking_server).get(
            "/bookings/" + mine["manage_url"].rsplit("/", 1)[1]
        ).json()
        assert seen["status"] == "arrived" and seen["can_cancel"] is False
        # Late: 15:00 booking checked in at 15:20 is a walk-in, with the reason said.
        clock.advance((15 * 60 + 20 - 10 * 60 - 20) * 60)
        late = kiosk.post(
            "/branches/b1/tickets", json={"service": "A", "appointment_code": later["code"]}
        ).json()
        assert late["priority"] == "normal" and "late" in late["notice"]

    def test_a_booking_for_another_day_is_a_walk_in_today(
        self, booking_server: LiveServer
    ) -> None:
        tomorrow = book(booking_server, "2026-12-01T10:00:00+08:00")
        ticket = booking_server.client("kiosk").post(
            "/branches/b1/tickets", json={"service": "A", "appointment_code": tomorrow["code"]}
        ).json()
        assert ticket["priority"] == "normal"
        assert "2026-12-01 10:00" in ticket["notice"] and "不是今天" not in ticket["notice"]


class TestManager:
    def test_calendar_blocks_and_csv(self, booking_server: LiveServer) -> None:
        book(booking_server, f"{TODAY}T11:00:00+08:00", service="B", name="=HYPERLINK(\"x\")")
        book(booking_server, f"{TODAY}T11:00:00+08:00", name="王芳", phone="13912345678")
        manager = booking_server.client("manager")
        day = manager.get("/branches/b1/bookings/calendar", params={"date": TODAY}).json()
        eleven = next(s for s in day["slots"] if s["at"] == f"{TODAY}T11:00:00+08:00")
        assert eleven["used"] == {"A": 1, "B": 1} and not eleven["blocked"]
        assert [s["capacity"] for s in day["services"]] == [2, 1]
        blocked = manager.post(
            "/branches/b1/booking/blocks",
            json={"date": TODAY, "at": f"{TODAY}T14:00", "reason": "系统维护"},
        )
        assert blocked.status_code == 201
        assert f"{TODAY}T14:00:00+08:00" not in slots(booking_server)
        refused = book(booking_server, f"{TODAY}T14:00:00+08:00", expect=409)
        assert refused["error"]["code"] == "slot_blocked"
        whole = manager.post("/branches/b1/booking/blocks", json={"date": "2026-12-01"})
        assert whole.status_code == 201 and slots(booking_server, day="2026-12-01") == {}
        unblocked = manager.delete(f"/branches/b1/booking/blocks/{whole.json()['id']}")
        assert unblocked.status_code == 200
        assert slots(booking_server, day="2026-12-01") != {}
        assert booking_server.client("teller1").post(
            "/branches/b1/booking/blocks", json={"date": TODAY}
        ).status_code == 403
        exported = manager.get("/branches/b1/bookings.csv", params={"date": TODAY})
        assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
        text = exported.content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][0] == "日期 date" and len(rows) == 3
        assert "王芳" in text and "139****5678" in text and "13912345678" not in text
        assert "'=HYPERLINK" in text, "a formula is not run by the spreadsheet"


class TestReminders:
    def test_sent_once_n_minutes_before(
        self, booking_server: LiveServer, gateway: Gateway, clock: FakeClock
    ) -> None:
        made = book(booking_server, f"{TODAY}T12:00:00+08:00", phone="13812345678")
        store = booking_server.store
        assert store is not None
        assert send_due_reminders(store, clock.now) == 0, "two hours ahead: not yet"
        at = clock.now + timedelta(hours=1, minutes=1)
        sent = send_due_reminders(store, at) + send_due_reminders(store, at)
        assert sent == 1
        received = gateway.wait_for(1)
        assert len(received) == 1
        payload = received[0]
        assert payload["event"] == "booking.reminder" and payload["code"] == made["code"]
        assert payload["phone"] == "13812345678", "the gateway needs the whole number"
        assert "12:00" in payload["text"]["zh"] and "12:00" in payload["text"]["en"]


class TestRetention:
    def test_daily_job_deletes_after_retention(
        self, booking_server: LiveServer, clock: FakeClock
    ) -> None:
        made = book(booking_server, f"{TODAY}T10:30:00+08:00")
        opinion = public(booking_server).post(
            "/branches/b1/opinions", json={"category": "waiting", "text": "太慢了"}
        ).json()
        store = booking_server.store
        assert store is not None
        kept = run_retention(store, clock.now + timedelta(days=179))
        assert kept["b1"] == {"bookings": 0, "opinions": 0}
        token = made["manage_url"].rsplit("/", 1)[1]
        assert public(booking_server).get(f"/bookings/{token}").status_code == 200
        gone = run_retention(store, clock.now + timedelta(days=181))
        assert gone["b1"] == {"bookings": 1, "opinions": 1}
        assert public(booking_server).get(f"/bookings/{token}").status_code == 404
        follow = opinion["follow_url"].rsplit("/", 1)[1]
        assert public(booking_server).get(f"/opinions/{follow}").status_code == 404
        listed = booking_server.client("manager").get(
            "/branches/b1/appointments", params={"day": TODAY}
        ).json()
        assert listed[0]["customer_name"] == "", "the appointment keeps no name"


def _race(server: LiveServer, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """All requests released at once, each on its own connection."""
    start = threading.Barrier(len(bodies))
    out: list[httpx.Response | None] = [None] * len(bodies)

    def one(i: int) -> None:
        with httpx.Client(base_url=server.api, timeout=60) as client:
            start.wait(30)
            out[i] = client.post("/branches/b1/bookings", json=bodies[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


class TestConcurrency:
    def test_the_last_place_goes_to_exactly_one(self, booking_server: LiveServer) -> None:
        at = f"{TODAY}T13:00:00+08:00"
        bodies = [
            {"service": "B", "at": at, "name": f"客{i}", "phone": f"1380000{i:04d}"}
            for i in range(8)
        ]
        answers = _race(booking_server, bodies)
        assert sorted(r.status_code for r in answers) == [201] + [409] * 7
        assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {
            "slot_full"
        }
        assert slots(booking_server, "B")[at] == 0
        calendar = booking_server.client("manager").get("/branches/b1/bookings/calendar").json()
        assert next(s for s in calendar["slots"] if s["at"] == at)["used"]["B"] == 1

    def test_one_phone_gets_its_daily_limit_and_no_more(self, booking_server: LiveServer) -> None:
        bodies = [
            {"service": "A", "at": f"{TODAY}T{h}:00+08:00", "name": "孙", "phone": "13500000000"}
            for h in ("11:00", "11:30", "12:00", "12:30", "13:00", "13:30")
        ]
        answers = _race(booking_server, bodies)
        assert sorted(r.status_code for r in answers) == [201, 201, 409, 409, 409, 409]
        lobby = booking_server.client("manager").get("/branches/b1/bookings").json()
        assert lobby["counts"]["expected"] == 2


class TestRateLimit:
    def test_public_routes_are_limited_per_address(
        self, database_url: str, tmp_path: Path, clock: FakeClock
    ) -> None:
        config = booking_config(database_url, tmp_path / "data", per_minute=3)
        with live_server(config, clock) as server:
            client = public(server)
            codes = [
                client.post(
                    "/branches/b1/opinions", json={"category": "other", "text": f"第{i}条"}
                ).status_code
                for i in range(5)
            ]
            assert codes == [201, 201, 201, 429, 429]
            refused = client.post("/branches/b1/opinions", json={"category": "other", "text": "x"})
            assert refused.json()["error"]["code"] == "rate_limited"
            kiosk = server.client("kiosk").post(
                "/branches/b1/opinions", json={"category": "other", "text": "kiosk"}
            )
            assert kiosk.status_code == 201, "the kiosk is one device for many people"
