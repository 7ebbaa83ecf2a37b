"""Every v1 endpoint against the live server: success, auth failures, bad input
(a 4xx in the error shape, never a 5xx)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import PASSWORDS, LiveServer


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body


class TestLogin:
    def test_login_gives_a_bearer_token_and_role(self, server: LiveServer) -> None:
        response = httpx.post(
            f"{server.api}/auth/login",
            json={"username": "manager", "password": PASSWORDS["manager"]},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer" and body["role"] == "manager" and body["access_token"]
        me = httpx.get(
            f"{server.api}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.json()["name"] == "manager"

    def test_wrong_password_and_unknown_user_are_401(self, server: LiveServer) -> None:
        for username, password in (("manager", "wrong-password"), ("nobody", "whatever-1")):
            response = httpx.post(
                f"{server.api}/auth/login", json={"username": username, "password": password}
            )
            assert_error(response, 401, "bad_credentials")

    def test_login_is_rate_limited(self, server: LiveServer) -> None:
        for _ in range(10):
            httpx.post(
                f"{server.api}/auth/login", json={"username": "teller4", "password": "wrong-pass"}
            )
        response = httpx.post(
            f"{server.api}/auth/login",
            json={"username": "teller4", "password": PASSWORDS["teller4"]},
        )
        assert_error(response, 429, "login_rate_limited")

    def test_bad_bodies_are_422(self, server: LiveServer) -> None:
        assert_error(
            httpx.post(f"{server.api}/auth/login", json={"username": "x"}), 422, "invalid_input"
        )
        assert_error(
            httpx.post(
                f"{server.api}/auth/login",
                content=b"{not json",
                headers={"content-type": "application/json"},
            ),
            422,
        )

    def test_forged_token_is_401(self, server: LiveServer) -> None:
        response = httpx.get(
            f"{server.api}/branches/b1/queue",
            headers={"Authorization": "Bearer forged.token.value"},
        )
        assert_error(response, 401, "invalid_token")


class TestPublicReads:
    def test_branches_and_services(self, server: LiveServer) -> None:
        with server.client() as anyone:
            branches = anyone.get("/branches").json()
            assert branches[0]["code"] == "b1" and branches[0]["name"]["zh"] == "测试支行"
            services = anyone.get("/branches/b1/services").json()
            assert [s["code"] for s in services] == ["A", "B", "C"]
            assert set(services[0]) >= {
                "code",
                "prefix",
                "name",
                "open",
                "waiting",
                "estimated_wait_s",
            }
            assert_error(anyone.get("/branches/nope/services"), 404, "branch_not_found")

    def test_health_and_metrics(self, server: LiveServer) -> None:
        health = httpx.get(f"{server.api}/health").json()
        assert health["status"] == "ok" and health["database"] == "ok"
        assert health["hub"] == {"backend": "memory", "ok": True}
        with server.client("kiosk") as kiosk:
            kiosk.post("/branches/b1/tickets", json={"service": "A"})
        metrics = httpx.get(f"{server.api}/metrics").text
        assert 'lobbyq_waiting{branch="b1",service="A"} 1.0' in metrics

    def test_unknown_route_is_404_in_the_error_shape(self, server: LiveServer) -> None:
        assert_error(httpx.get(f"{server.api}/nothing/here"), 404)
        assert_error(httpx.delete(f"{server.api}/branches"), 405)


class TestQueue:
    def test_queue_for_staff_and_display_not_kiosk_or_anonymous(self, server: LiveServer) -> None:
        with server.client("display") as display:
            queue = display.get("/branches/b1/queue").json()
            assert set(queue) >= {"seq", "services", "counters", "recent_calls"}
        with server.client("teller1") as teller:
            assert teller.get("/branches/b1/queue").status_code == 200
        with server.client("kiosk") as kiosk:
            assert_error(kiosk.get("/branches/b1/queue"), 403)
        with server.client() as anyone:
            assert_error(anyone.get("/branches/b1/queue"), 401)


class TestTickets:
    def test_kiosk_issues_and_the_public_follows_by_token(self, server: LiveServer) -> None:
        with server.client("kiosk") as kiosk:
            created = kiosk.post("/branches/b1/tickets", json={"service": "B", "lang": "en"})
        assert created.status_code == 201
        ticket = created.json()
        for key in (
            "id",
            "token",
            "number",
            "service",
            "priority",
            "status",
            "issued_at",
            "enqueued_at",
            "called_at",
            "counter",
            "position",
            "estimated_wait_s",
            "track_url",
        ):
            assert key in ticket
        assert (
            ticket["number"] == "B001" and ticket["status"] == "waiting" and ticket["position"] == 0
        )
        assert ticket["track_url"].endswith(f"/t/{ticket['token']}")
        assert "+00:00" in ticket["issued_at"]
        with server.client() as anyone:
            public = anyone.get(f"/tickets/{ticket['token']}").json()
            assert public["number"] == "B001" and public["position"] == 0
            assert_error(anyone.get("/tickets/not-a-token"), 404, "ticket_not_found")
            assert_error(anyone.get("/tickets/" + "x" * 500), 404)
            cancelled = anyone.delete(f"/tickets/{ticket['token']}")
            assert cancelled.json()["status"] == "cancelled"
            assert_error(anyone.delete(f"/tickets/{ticket['token']}"), 409, "not_waiting")

    def test_who_may_issue(self, server: LiveServer) -> None:
        with server.client() as anyone:
            assert_error(anyone.post("/branches/b1/tickets", json={"service": "A"}), 401)
        with server.client("display") as display:
            assert_error(display.post("/branches/b1/tickets", json={"service": "A"}), 403)
        with server.client("teller2") as staff:
            assert (
                staff.post(
                    "/branches/b1/tickets", json={"service": "A", "priority": "vip"}
                ).status_code
                == 201
            )

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({}, "invalid_input"),
            ({"service": "Z"}, "unknown_service"),
            ({"service": "A", "priority": "gold"}, "unknown_priority"),
            ({"service": "A", "lang": "fr"}, "invalid_input"),
            ({"service": "A", "extra": 1}, "invalid_input"),
            ({"service": "<script>"}, "invalid_input"),
            ({"service": "A", "priority": "vip", "customer_ref": "NOT-A-VIP"}, "unknown_vip"),
            ({"service": "A", "priority": "vip"}, "unknown_vip"),
            ({"service": "A", "priority": "appointment"}, "appointment_code_required"),
        ],
    )
    def test_bad_ticket_requests_are_422(
        self, server: LiveServer, body: dict[str, Any], code: str
    ) -> None:
        with server.client("kiosk") as kiosk:
            assert_error(kiosk.post("/branches/b1/tickets", json=body), 422, code)

    def test_unknown_appointment_code_is_404(self, server: LiveServer) -> None:
        with server.client("kiosk") as kiosk:
            response = kiosk.post(
                "/branches/b1/tickets", json={"service": "A", "appointment_code": "NOPE"}
            )
            assert_error(response, 404, "appointment_not_found")

    def test_known_vip_card_gets_a_vip_ticket(self, server: LiveServer) -> None:
        with server.client("kiosk") as kiosk:
            ticket = kiosk.post(
                "/branches/b1/tickets",
                json={"service": "A", "priority": "vip", "customer_ref": "VIP001"},
            ).json()
        assert ticket["priority"] == "vip" and ticket["number"] == "VA001"

    def test_oversized_body_is_413(self, server: LiveServer) -> None:
        with server.client("kiosk") as kiosk:
            response = kiosk.post(
                "/branches/b1/tickets",
                content=b"{" + b" " * 200_000 + b"}",
                headers={"content-type": "application/json"},
            )
        assert_error(response, 413, "body_too_large")


class TestCounterActions:
    def test_a_whole_ticket_through_the_api(self, server: LiveServer) -> None:
        with server.client("kiosk") as kiosk:
            for _ in range(3):
                kiosk.post("/branches/b1/tickets", json={"service": "A"})
        with server.client("teller1") as teller:
            counter = "/branches/b1/counters/1"
            assert teller.post(f"{counter}/open").json()["counter"]["state"] == "open"
            called = teller.post(f"{counter}/call-next")
            assert called.status_code == 200 and called.json()["ticket"]["number"] == "A001"
            assert_error(teller.post(f"{counter}/call-next"), 409, "ticket_held")
            assert teller.post(f"{counter}/recall").json()["ticket"]["status"] == "called"
            assert teller.post(f"{counter}/start").json()["ticket"]["status"] == "serving"
            assert (
                teller.post(f"{counter}/complete", json={"rating": 5}).json()["ticket"]["status"]
                == "completed"
            )
            assert teller.post(f"{counter}/call-next").json()["ticket"]["number"] == "A002"
            assert teller.post(f"{counter}/no-show").json()["ticket"]["status"] == "no_show"
            assert (
                teller.post(f"{counter}/call", json={"number": "A002"}).json()["ticket"]["status"]
                == "called"
            )
            moved = teller.post(f"{counter}/transfer", json={"service": "B"}).json()["ticket"]
            assert moved["status"] == "waiting" and moved["service"] == "B"
            assert (
                teller.post(f"{counter}/call", json={"number": "A003"}).json()["ticket"]["number"]
                == "A003"
            )
            assert teller.post(f"{counter}/complete").json()["ticket"]["status"] == "completed"
            assert teller.post(f"{counter}/pause").json()["counter"]["state"] == "paused"
            assert teller.post(f"{counter}/resume").json()["counter"]["state"] == "open"
            assert (
                teller.post(f"{counter}/call-next").json()["ticket"]["number"] == "A002"
            )  # now in B
            teller.post(f"{counter}/complete")
            empty = teller.post(f"{counter}/call-next")
            assert empty.status_code == 204 and empty.content == b""
            assert teller.post(f"{counter}/close").json()["counter"]["state"] == "closed"

    @pytest.mark.parametrize(
        "action",
        ["call-next", "recall", "start", "complete", "no-show", "pause", "resume", "close"],
    )
    def test_teller_actions_refuse_the_wrong_caller(self, server: LiveServer, action: str) -> None:
        counter = f"/branches/b1/counters/1/{action}"
        with server.client() as anyone:
            assert_error(anyone.post(counter), 401)
        with server.client("kiosk") as kiosk:
            assert_error(kiosk.post(counter), 403, "staff_only")
        with server.client("display") as display:
            assert_error(display.post(counter), 403)
        with server.client("teller1") as owner:
            owner.post("/branches/b1/counters/1/open")
        with server.client("teller2") as other:
            assert_error(other.post(counter), 403, "not_at_counter")

    def test_counter_conflicts_and_bad_input(self, server: LiveServer) -> None:
        with server.client("teller1") as first, server.client("teller2") as second:
            first.post("/branches/b1/counters/1/open")
            assert_error(second.post("/branches/b1/counters/1/open"), 409, "counter_taken")
            assert_error(first.post("/branches/b1/counters/99/open"), 404, "counter_not_found")
            assert_error(
                first.post("/branches/b1/counters/1/call", json={"number": "../../etc"}), 422
            )
            assert_error(
                first.post("/branches/b1/counters/1/call", json={"number": "A999"}),
                404,
                "ticket_not_found",
            )
            assert_error(first.post("/branches/b1/counters/1/transfer", json={}), 422)
            assert_error(
                first.post("/branches/b1/counters/1/transfer", json={"service": "B"}),
                409,
                "no_ticket_held",
            )
            assert_error(first.post("/branches/b1/counters/1/complete", json={"rating": 9}), 422)
            assert_error(first.post("/branches/b1/counters/1/start"), 409, "no_ticket_held")


class TestManagerSettings:
    def test_notice_and_service_state_are_for_managers(self, server: LiveServer) -> None:
        with server.client("teller1") as teller:
            assert_error(
                teller.put("/branches/b1/notice", json={"zh": "x", "en": "y"}), 403, "managers_only"
            )
        with server.client("manager") as manager:
            assert (
                manager.put("/branches/b1/notice", json={"zh": "午休", "en": "Lunch"}).status_code
                == 200
            )
            assert (
                manager.put("/branches/b1/services/A/state", json={"open": False}).json()["open"]
                is False
            )
            assert_error(manager.put("/branches/b1/services/Q/state", json={"open": False}), 404)
        with server.client("display") as display:
            assert display.get("/branches/b1/queue").json()["notice"]["zh"] == "午休"
        with server.client("kiosk") as kiosk:
            assert_error(
                kiosk.post("/branches/b1/tickets", json={"service": "A"}), 409, "service_closed"
            )
