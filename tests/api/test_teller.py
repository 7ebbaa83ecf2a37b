"""GET /branches/{b}/counters and GET /branches/{b}/counters/{c}/summary: what the
teller page reads."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import FakeClock, LiveServer


def _issue(server: LiveServer, service: str, priority: str = "normal") -> str:
    body: dict[str, Any] = {"service": service, "priority": priority, "print": False}
    if priority == "vip":
        body["customer_ref"] = "VIP001"
    with server.client("kiosk") as kiosk:
        response = kiosk.post("/branches/b1/tickets", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


class TestCounters:
    def test_lists_every_counter_with_who_holds_it(self, server: LiveServer) -> None:
        with server.client("teller2") as teller2, server.client("teller1") as teller1:
            assert teller2.post("/branches/b1/counters/3/open").status_code == 200
            rows = teller1.get("/branches/b1/counters").json()
        assert [r["number"] for r in rows] == ["1", "2", "3", "4"]
        taken = {r["number"]: r for r in rows}
        assert taken["3"]["free"] is False
        assert taken["3"]["username"] == "teller2"
        assert taken["3"]["state"] == "open"
        assert taken["1"]["free"] is True and taken["1"]["username"] is None
        assert taken["4"]["services"] == ["C"]
        assert taken["3"]["name"] == {"zh": "3号窗口", "en": "Counter 3"}

    def test_staff_only(self, server: LiveServer) -> None:
        assert httpx.get(f"{server.api}/branches/b1/counters").status_code == 401
        with server.client("display") as display:
            response = display.get("/branches/b1/counters")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "staff_only"

    def test_unknown_branch_is_404(self, server: LiveServer) -> None:
        with server.client("teller1") as teller:
            response = teller.get("/branches/nope/counters")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "branch_not_found"


class TestSummary:
    def test_current_ticket_and_waiting_list_in_call_order(self, server: LiveServer) -> None:
        numbers = [
            _issue(server, "A"),
            _issue(server, "B"),
            _issue(server, "C"),
            _issue(server, "A"),
        ]
        with server.client("teller1") as teller:
            teller.post("/branches/b1/counters/1/open")
            before = teller.get("/branches/b1/counters/1/summary").json()
            # counter 1 serves A and B: C is not in its list
            listed = [w["number"] for w in before["waiting"]]
            assert sorted(listed) == sorted([numbers[0], numbers[1], numbers[3]])
            assert before["current"] is None and before["mine"] is True
            called = []
            for _ in listed:
                called.append(
                    teller.post("/branches/b1/counters/1/call-next").json()["ticket"]["number"]
                )
                summary = teller.get("/branches/b1/counters/1/summary").json()
                assert summary["current"]["number"] == called[-1]
                assert summary["current"]["status"] == "called"
                assert summary["current"]["called_at"]
                teller.post("/branches/b1/counters/1/complete")
        # the list is the order call-next then followed
        assert called == listed

    def test_vip_first_and_the_current_ticket_described(self, server: LiveServer) -> None:
        normal = _issue(server, "A")
        vip = _issue(server, "A", "vip")
        with server.client("teller1") as teller:
            teller.post("/branches/b1/counters/1/open")
            waiting = teller.get("/branches/b1/counters/1/summary").json()["waiting"]
            assert [w["number"] for w in waiting][:2] in ([vip, normal], [normal, vip])
            assert {w["priority"] for w in waiting} == {"vip", "normal"}
            teller.post("/branches/b1/counters/1/call", json={"number": vip})
            teller.post("/branches/b1/counters/1/start")
            current = teller.get("/branches/b1/counters/1/summary").json()["current"]
        assert current["number"] == vip
        assert current["status"] == "serving"
        assert current["priority"] == "vip"
        assert current["priority_name"] == {"zh": "贵宾", "en": "VIP"}
        assert current["service_name"] == {"zh": "个人现金", "en": "Cash"}
        assert current["started_at"] is not None

    def test_served_today_and_average_service_time(
        self, clocked_server: LiveServer, clock: FakeClock
    ) -> None:
        server = clocked_server
        for _ in range(3):
            _issue(server, "A")
        with server.client("teller1") as one, server.client("teller2") as two:
            one.post("/branches/b1/counters/1/open")
            two.post("/branches/b1/counters/2/open")
            one.post("/branches/b1/counters/1/call-next")
            clock.advance(60)
            one.post("/branches/b1/counters/1/start")
            clock.advance(120)
            one.post("/branches/b1/counters/1/complete", json={"rating": 5})
            one.post("/branches/b1/counters/1/call-next")
            clock.advance(240)
            one.post("/branches/b1/counters/1/complete")  # never started: from the call
            two.post("/branches/b1/counters/2/call-next")
            clock.advance(30)
            two.post("/branches/b1/counters/2/complete")
            mine = one.get("/branches/b1/counters/1/summary").json()
            theirs = two.get("/branches/b1/counters/2/summary").json()
            peek = two.get("/branches/b1/counters/1/summary").json()
        assert mine["today"]["counter"] == {"served": 2, "service_avg_s": 180}
        assert mine["today"]["teller"] == {"served": 2, "service_avg_s": 180}
        assert theirs["today"]["counter"] == {"served": 1, "service_avg_s": 30}
        assert mine["waiting"] == []
        assert mine["now"].startswith("2026-11-30T02:07:30")
        # another teller may look, but it is not theirs
        assert peek["mine"] is False and peek["today"]["teller"]["served"] == 1

    def test_waited_counts_from_enqueue(self, clocked_server: LiveServer, clock: FakeClock) -> None:
        number = _issue(clocked_server, "B")
        clock.advance(95)
        with clocked_server.client("teller3") as teller:
            waiting = teller.get("/branches/b1/counters/3/summary").json()["waiting"]
        assert waiting == [
            {
                "number": number,
                "service": "B",
                "priority": "normal",
                "priority_name": {"zh": "普通", "en": "Normal"},
                "enqueued_at": "2026-11-30T02:00:00+00:00",
                "waited_s": 95,
                "escalated": False,
                "target_counter": None,
                "recall_count": 0,
            }
        ]

    def test_ratings_setting_and_unknown_counter(self, server: LiveServer) -> None:
        with server.client("teller1") as teller:
            summary = teller.get("/branches/b1/counters/1/summary").json()
            missing = teller.get("/branches/b1/counters/99/summary")
        assert summary["ratings_enabled"] is True
        assert summary["counter"]["state"] == "closed"
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "counter_not_found"

    def test_needs_staff(self, server: LiveServer) -> None:
        assert httpx.get(f"{server.api}/branches/b1/counters/1/summary").status_code == 401
        with server.client("kiosk") as kiosk:
            assert kiosk.get("/branches/b1/counters/1/summary").status_code == 403
