"""The lobby manager's reads and moves (API.md v1.1 role `lobby`)."""

from __future__ import annotations

from typing import Any

from tests.support import FakeClock, LiveServer


def issue(hall: LiveServer, service: str, **body: Any) -> dict[str, Any]:
    with hall.client("lobby1") as lobby:
        answer = lobby.post(
            "/branches/b1/tickets", json={"service": service, "print": False, **body}
        )
        assert answer.status_code == 201, answer.text
        ticket: dict[str, Any] = answer.json()
        return ticket


class TestLobbyOverview:
    def test_appointments_arrivals_and_waits(self, hall: LiveServer, clock: FakeClock) -> None:
        # now 10:00 Shanghai: one booked 09:30 (late), one 10:10 (due), one 14:00 (later)
        with hall.client("manager") as manager:
            for at, code, name in (
                ("2026-11-30 09:30", "111111", "王先生"),
                ("2026-11-30 10:10", "222222", "李女士"),
                ("2026-11-30 14:00", "333333", "赵女士"),
            ):
                manager.post(
                    "/branches/b1/appointments",
                    json={"service": "A", "at": at, "code": code, "customer_name": name},
                ).raise_for_status()
        arrived = issue(hall, "A", appointment_code="222222")
        vip = issue(hall, "A", priority="vip", customer_ref="VIP001")
        normal = issue(hall, "B")
        clock.advance(300)
        with hall.client("lobby1") as lobby:
            view = lobby.get("/branches/b1/lobby").json()
        states = {a["code"]: (a["state"], a["number"]) for a in view["appointments"]}
        assert states == {
            "111111": ("late", None),
            "222222": ("arrived", arrived["number"]),
            "333333": ("later", None),
        }
        assert [t["number"] for t in view["arrivals"]] == [vip["number"], arrived["number"]]
        waits = {w["service"]: w for w in view["waits"]}
        assert waits["A"]["waiting"] == 2 and waits["B"]["longest"][0]["number"] == normal["number"]
        assert waits["B"]["longest"][0]["waited_s"] == 300
        assert waits["C"]["waiting"] == 0

    def test_only_lobby_managers_and_managers(self, hall: LiveServer) -> None:
        with hall.client("teller1") as teller:
            refused = teller.get("/branches/b1/lobby")
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "lobby_only"
        with hall.client("manager") as manager:
            assert manager.get("/branches/b1/lobby").status_code == 200
        with hall.client("lobby1") as lobby:  # no statistics for the lobby role
            assert lobby.get("/branches/b1/stats").status_code == 403
        with hall.client("kiosk") as kiosk:
            assert kiosk.get("/branches/b1/lobby").status_code == 403


class TestMoveWaiting:
    def test_keeps_the_place(self, hall: LiveServer, clock: FakeClock) -> None:
        first = issue(hall, "A")
        clock.advance(60)
        b_ticket = issue(hall, "B")
        with hall.client("lobby1") as lobby:
            moved = lobby.post(
                f"/branches/b1/tickets/{first['number']}/move", json={"service": "B"}
            )
            assert moved.status_code == 200, moved.text
            assert moved.json()["service"] == "B" and moved.json()["status"] == "waiting"
        with hall.client() as public:
            # issued a minute earlier, it is now ahead of the B ticket
            assert public.get(f"/tickets/{first['token']}").json()["position"] == 0
            assert public.get(f"/tickets/{b_ticket['token']}").json()["position"] == 1
        with hall.client("teller3") as three:  # counter 3 serves B only
            three.post("/branches/b1/counters/3/open").raise_for_status()
            called = three.post("/branches/b1/counters/3/call-next").json()["ticket"]
            assert called["number"] == first["number"]

    def test_refusals(self, hall: LiveServer) -> None:
        ticket = issue(hall, "A")
        with hall.client("lobby1") as lobby:
            same = lobby.post(
                f"/branches/b1/tickets/{ticket['number']}/move", json={"service": "A"}
            )
            assert same.status_code == 422
            unknown = lobby.post(
                f"/branches/b1/tickets/{ticket['number']}/move", json={"service": "Z"}
            )
            assert unknown.status_code == 422
            nothing = lobby.post("/branches/b1/tickets/A999/move", json={"service": "B"})
            assert nothing.status_code == 404
        with hall.client("teller1") as teller:
            teller.post("/branches/b1/counters/1/open").raise_for_status()
            teller.post("/branches/b1/counters/1/call-next").raise_for_status()
        with hall.client("lobby1") as lobby:
            held = lobby.post(
                f"/branches/b1/tickets/{ticket['number']}/move", json={"service": "B"}
            )
            assert held.status_code == 409 and held.json()["error"]["code"] == "not_waiting"

    def test_print_at_a_chosen_printer(self, hall: LiveServer) -> None:
        ticket = issue(hall, "A")
        with hall.client("lobby1") as lobby:
            job = lobby.post("/branches/b1/printers/p1/print", json={"ticket": ticket["token"]})
            assert job.status_code == 202, job.text
            assert job.json()["printer"] == "p1" and job.json()["state"] != "failed"
            assert (
                lobby.post(
                    "/branches/b1/printers/p9/print", json={"ticket": ticket["token"]}
                ).status_code
                == 404
            )
            assert (
                lobby.post("/branches/b1/printers/p1/print", json={"ticket": "nope"}).status_code
                == 404
            )
        with hall.client("teller1") as teller:
            assert (
                teller.post(
                    "/branches/b1/printers/p1/print", json={"ticket": ticket["token"]}
                ).status_code
                == 403
            )
