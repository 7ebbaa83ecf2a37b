"""Appointments: the manager books, lists and cancels; CSV import; check-in at the kiosk
and by staff, with the early and late windows."""

from __future__ import annotations

from tests.support import FakeClock, LiveServer

# The fake clock starts at 10:00 in Shanghai on 2026-11-30.
TODAY = "2026-11-30"


def book(server: LiveServer, at: str, **fields: str) -> dict[str, object]:
    response = server.client("manager").post(
        "/branches/b1/appointments", json={"service": "B", "at": at, **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestBook:
    def test_create_with_generated_code_and_list_by_day(self, clocked_server: LiveServer) -> None:
        first = book(clocked_server, f"{TODAY} 10:30", customer_name="王芳", customer_ref="138")
        assert (
            isinstance(first["code"], str) and first["code"].isdigit() and len(first["code"]) == 6
        )
        assert first["at"] == f"{TODAY}T10:30:00+08:00" and first["status"] == "booked"
        book(clocked_server, "2026-12-01T09:00:00+08:00", code="X1")
        listed = clocked_server.client("teller1").get("/branches/b1/appointments").json()
        assert [a["code"] for a in listed] == [first["code"]]
        tomorrow = clocked_server.client("manager").get(
            "/branches/b1/appointments", params={"day": "2026-12-01"}
        )
        assert [a["code"] for a in tomorrow.json()] == ["X1"]

    def test_bad_input_is_a_clear_4xx(self, clocked_server: LiveServer) -> None:
        manager = clocked_server.client("manager")
        cases = [
            ({"service": "Z", "at": f"{TODAY} 10:30"}, 422, "unknown_service"),
            ({"service": "A", "at": "tomorrow morning"}, 422, "invalid_time"),
            ({"service": "A", "at": f"{TODAY} 10:30", "code": "a b"}, 422, "invalid_input"),
            ({"service": "A", "at": "0001-01-01 00:00"}, 422, "invalid_time"),
            (
                {"service": "A", "at": f"{TODAY} 10:30", "customer_name": "a\x00b"},
                422,
                "invalid_text",
            ),
        ]
        for body, status, code in cases:
            response = manager.post("/branches/b1/appointments", json=body)
            assert response.status_code == status, body
            assert response.json()["error"]["code"] == code
        far = manager.get("/branches/b1/appointments", params={"day": "0001-01-01"})
        assert far.status_code == 422
        book(clocked_server, f"{TODAY} 11:00", code="777")
        again = manager.post(
            "/branches/b1/appointments",
            json={"service": "A", "at": f"{TODAY} 11:00", "code": "777"},
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "code_in_use"

    def test_only_managers_book_and_cancel(self, clocked_server: LiveServer) -> None:
        body = {"service": "A", "at": f"{TODAY} 11:00"}
        assert (
            clocked_server.client("teller1")
            .post("/branches/b1/appointments", json=body)
            .status_code
            == 403
        )
        assert (
            clocked_server.client("kiosk").post("/branches/b1/appointments", json=body).status_code
            == 403
        )
        assert clocked_server.client(None).get("/branches/b1/appointments").status_code == 401
        made = book(clocked_server, f"{TODAY} 11:00")
        assert (
            clocked_server.client("teller1")
            .delete(f"/branches/b1/appointments/{made['code']}")
            .status_code
            == 403
        )

    def test_cancelled_appointment_cannot_check_in(self, clocked_server: LiveServer) -> None:
        made = book(clocked_server, f"{TODAY} 10:05", code="4321")
        cancelled = clocked_server.client("manager").delete("/branches/b1/appointments/4321")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        response = clocked_server.client("kiosk").post(
            "/branches/b1/tickets", json={"service": "A", "appointment_code": made["code"]}
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "appointment_not_found"


class TestCheckIn:
    def test_on_time_at_the_kiosk_ranks_as_appointment(self, clocked_server: LiveServer) -> None:
        book(clocked_server, f"{TODAY} 10:05", code="1111")
        kiosk = clocked_server.client("kiosk")
        walk_in = kiosk.post("/branches/b1/tickets", json={"service": "B"}).json()
        response = kiosk.post(
            "/branches/b1/tickets", json={"service": "A", "appointment_code": "1111"}
        )
        assert response.status_code == 201
        ticket = response.json()
        assert ticket["service"] == "B" and ticket["priority"] == "appointment"
        assert ticket["notice"] is None
        assert ticket["number"].startswith("Y")
        assert walk_in["position"] == 0
        again = kiosk.post(
            "/branches/b1/tickets", json={"service": "B", "appointment_code": "1111"}
        )
        assert again.status_code == 422 and again.json()["error"]["code"] == "already_checked_in"
        listed = clocked_server.client("manager").get("/branches/b1/appointments").json()
        assert listed[0]["status"] == "checked_in" and listed[0]["ticket_id"] == ticket["id"]

    def test_too_early_waits_like_a_walk_in_until_the_early_window(
        self, clocked_server: LiveServer, clock: FakeClock
    ) -> None:
        book(clocked_server, f"{TODAY} 11:00", code="5555")  # early window 15 min: 10:45
        kiosk = clocked_server.client("kiosk")
        walk_in = kiosk.post("/branches/b1/tickets", json={"service": "B"}).json()
        clock.advance(60)
        early = kiosk.post(
            "/branches/b1/tickets", json={"service": "B", "appointment_code": "5555"}
        )
        assert early.status_code == 201
        ticket = early.json()
        assert ticket["priority"] == "appointment"
        assert "10:45" in ticket["notice"] and "early" in ticket["notice"], "the reason, said"
        assert ticket["position"] == 1, "before 10:45 it does not pass the walk-in"
        assert walk_in["position"] == 0

    def test_late_becomes_a_normal_walk_in_with_a_notice(
        self, clocked_server: LiveServer, clock: FakeClock
    ) -> None:
        book(clocked_server, f"{TODAY} 09:30", code="2222")  # late window 10 min: 09:40
        response = clocked_server.client("kiosk").post(
            "/branches/b1/tickets", json={"service": "B", "appointment_code": "2222"}
        )
        assert response.status_code == 201
        ticket = response.json()
        assert ticket["priority"] == "normal" and ticket["notice"]
        assert "late" in ticket["notice"]

    def test_staff_check_in_by_code(self, clocked_server: LiveServer) -> None:
        book(clocked_server, f"{TODAY} 10:10", code="3333", customer_ref="C-9")
        teller = clocked_server.client("teller1")
        response = teller.post("/branches/b1/appointments/3333/check-in")
        assert response.status_code == 201, response.text
        ticket = response.json()
        assert ticket["priority"] == "appointment" and ticket["service"] == "B"
        assert ticket["track_url"].endswith(ticket["token"])
        twice = teller.post("/branches/b1/appointments/3333/check-in")
        assert twice.status_code == 422
        missing = teller.post("/branches/b1/appointments/9999/check-in")
        assert missing.status_code == 404
        assert (
            clocked_server.client("kiosk")
            .post("/branches/b1/appointments/3333/check-in")
            .status_code
            == 403
        )


class TestImport:
    CSV = (
        "service,at,code,customer_ref,customer_name\n"
        "A,2026-11-30 11:00,5001,13800000001,张三\n"
        "B,2026-11-30T14:30:00+08:00,,13800000002,Li Si\n"
        "Z,2026-11-30 15:00,5003,,unknown service\n"
        "A,not a time,5004,,\n"
        "A,2026-11-30 16:00,5001,,duplicate code\n"
        "\n"
    )

    def test_csv_body_reports_accepted_and_rejected_rows(self, clocked_server: LiveServer) -> None:
        response = clocked_server.client("manager").post(
            "/branches/b1/appointments/import",
            content=self.CSV.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["accepted"] == 2 and report["rejected"] == 3
        assert [e["row"] for e in report["errors"]] == [4, 5, 6]
        assert [e["code"] for e in report["errors"]] == [
            "unknown_service",
            "invalid_time",
            "code_in_use",
        ]
        listed = clocked_server.client("manager").get("/branches/b1/appointments").json()
        assert {a["customer_name"] for a in listed} == {"张三", "Li Si"}
        assert [a["at"] for a in listed] == [
            "2026-11-30T11:00:00+08:00",
            "2026-11-30T14:30:00+08:00",
        ]

    def test_multipart_upload_in_gb18030_with_date_and_time_columns(
        self, clocked_server: LiveServer
    ) -> None:
        text = "service,date,time,customer_name\nC,2026-11-30,13:15,对公客户\n"
        response = clocked_server.client("manager").post(
            "/branches/b1/appointments/import",
            files={"file": ("bookings.csv", text.encode("gb18030"), "text/csv")},
        )
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1
        [row] = response.json()["appointments"]
        assert row["customer_name"] == "对公客户" and row["at"] == "2026-11-30T13:15:00+08:00"

    def test_bad_files_are_refused_clearly(self, clocked_server: LiveServer) -> None:
        manager = clocked_server.client("manager")
        no_header = manager.post(
            "/branches/b1/appointments/import",
            content=b"hello,world\n1,2\n",
            headers={"Content-Type": "text/csv"},
        )
        assert no_header.status_code == 422 and no_header.json()["error"]["code"] == "invalid_csv"
        binary = manager.post(
            "/branches/b1/appointments/import",
            content=b"service,at\nA,\x00\x00\n",
            headers={"Content-Type": "text/csv"},
        )
        assert binary.status_code == 422 and binary.json()["error"]["code"] == "invalid_csv"
        wrong_type = manager.post("/branches/b1/appointments/import", json={"a": 1})
        assert wrong_type.status_code == 422
        assert (
            clocked_server.client("teller1")
            .post(
                "/branches/b1/appointments/import",
                content=b"service,at\n",
                headers={"Content-Type": "text/csv"},
            )
            .status_code
            == 403
        )
