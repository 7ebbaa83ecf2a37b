"""The opinion book against the real server: leaving one, following it, the manager's
inbox (masked list, whole detail, who read and replied), statuses, the overdue alert
after N business days, monthly counts and CSV, and low ratings opening one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.customer import opinions as opinion_rules
from server.customer.tables import Opinion
from tests.customer.booking_support import booking_config, public
from tests.support import FakeClock, LiveServer, live_server


@pytest.fixture
def opinion_server(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    with live_server(booking_config(database_url, tmp_path / "data"), clock) as server:
        yield server


def leave(server: LiveServer, **fields: Any) -> dict[str, Any]:
    body = {"category": "waiting", "text": "等了四十分钟，只开了两个窗口。", **fields}
    response = public(server).post("/branches/b1/opinions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def token_of(opinion: dict[str, Any]) -> str:
    return str(opinion["follow_url"]).rsplit("/", 1)[1]


class TestLeaveAndFollow:
    def test_leave_follow_reply(self, opinion_server: LiveServer) -> None:
        made = leave(opinion_server, contact="13812345678", source="mobile")
        assert made["code"].startswith("YJ261130") and made["status"] == "new"
        assert made["contact"] == "138****5678"
        follow = public(opinion_server).get(f"/opinions/{token_of(made)}").json()
        assert follow["reply"] is None and follow["status_name"]["en"] == "New"
        manager = opinion_server.client("manager")
        inbox = manager.get("/branches/b1/opinions", params={"status": "new"}).json()
        assert [o["code"] for o in inbox] == [made["code"]]
        assert inbox[0]["contact"] == "138****5678", "masked in the list"
        detail = manager.get(f"/branches/b1/opinions/{inbox[0]['id']}").json()
        assert detail["contact"] == "13812345678", "whole in the detail only"
        assert detail["history"][0]["action"] == "read"
        assert detail["history"][0]["username"] == "manager"
        moved = manager.put(
            f"/branches/b1/opinions/{inbox[0]['id']}/status", json={"status": "in_progress"}
        )
        assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
        replied = opinion_server.client("admin").post(
            f"/branches/b1/opinions/{inbox[0]['id']}/reply",
            json={"text": "您好，已增开窗口，感谢您的意见。"},
        )
        assert replied.status_code == 200 and replied.json()["status"] == "replied"
        follow = public(opinion_server).get(f"/opinions/{token_of(made)}").json()
        assert follow["reply"] == "您好，已增开窗口，感谢您的意见。"
        assert follow["status"] == "replied"
        history = manager.get(f"/branches/b1/opinions/{inbox[0]['id']}").json()["history"]
        assert [(h["action"], h["username"]) for h in history] == [
            ("read", "manager"),
            ("status", "manager"),
            ("reply", "admin"),
            ("read", "manager"),
        ]
        bad = manager.put(f"/branches/b1/opinions/{inbox[0]['id']}/status", json={"status": "x"})
        assert bad.status_code == 422

    def test_linked_to_a_ticket_and_only_managers_read(self, opinion_server: LiveServer) -> None:
        ticket = opinion_server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"})
        made = leave(opinion_server, ticket_token=ticket.json()["token"], category="attitude")
        inbox = opinion_server.client("manager").get("/branches/b1/opinions").json()
        assert inbox[0]["ticket"] == ticket.json()["number"] and made["category"] == "attitude"
        assert opinion_server.client("teller1").get("/branches/b1/opinions").status_code == 403
        assert public(opinion_server).get("/branches/b1/opinions").status_code == 401
        unknown = public(opinion_server).post(
            "/branches/b1/opinions", json={"category": "other", "text": "x", "ticket_token": "no"}
        )
        assert unknown.status_code == 404

    def test_bad_input(self, opinion_server: LiveServer) -> None:
        client = public(opinion_server)
        for body, code in [
            ({"category": "food", "text": "x"}, "invalid_category"),
            ({"category": "other", "text": "   "}, "required"),
            ({"category": "other", "text": "字" * 501}, "too_long"),
            ({"category": "other", "text": "ok", "contact": "x" * 101}, "too_long"),
        ]:
            response = client.post("/branches/b1/opinions", json=body)
            assert response.status_code == 422, body
            assert response.json()["error"]["code"] == code
        assert client.post(
            "/branches/b1/opinions", json={"category": "other", "text": "字" * 500}
        ).status_code == 201


class TestOverdueAndCounts:
    def test_overdue_after_two_business_days(
        self, opinion_server: LiveServer, clock: FakeClock
    ) -> None:
        # Monday 30 Nov; Wednesday 2 Dec is a holiday: business days Tue 1, Thu 3.
        made = leave(opinion_server)
        manager = opinion_server.client("manager")
        clock.advance(timedelta(days=3, hours=13).total_seconds())  # Thu 23:00
        summary = manager.get("/branches/b1/opinions/summary").json()
        assert summary["overdue"] == []
        clock.advance(timedelta(hours=1, minutes=1).total_seconds())  # Fri 00:01
        summary = manager.get("/branches/b1/opinions/summary").json()
        assert [a["code"] for a in summary["overdue"]] == [made["code"]]
        assert "超过2个工作日未答复" in summary["overdue"][0]["text"]["zh"]
        assert "2 business days" in summary["overdue"][0]["text"]["en"]
        opinion_id = manager.get("/branches/b1/opinions").json()[0]["id"]
        manager.post(f"/branches/b1/opinions/{opinion_id}/reply", json={"text": "已处理"})
        assert manager.get("/branches/b1/opinions/summary").json()["overdue"] == []

    def test_monthly_counts_and_csv(self, opinion_server: LiveServer) -> None:
        for category in ("waiting", "waiting", "attitude", "other"):
            leave(opinion_server, category=category)
        manager = opinion_server.client("manager")
        summary = manager.get("/branches/b1/opinions/summary", params={"months": 2}).json()
        month = summary["months"][0]
        assert month["month"] == "2026-11" and month["total"] == 4
        assert month["by_category"] == {
            "attitude": 1, "waiting": 2, "environment": 0, "process": 0, "other": 1
        }
        assert summary["by_status"]["new"] == 4
        exported = manager.get("/branches/b1/opinions.csv", params={"months": 2})
        assert exported.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert rows[0][1] == "服务态度 attitude"
        assert rows[1][:3] == ["2026-11", "1", "2"]


class TestFromRating:
    def test_a_low_rating_with_a_reason_opens_one(
        self, opinion_server: LiveServer, clock: FakeClock
    ) -> None:
        store = opinion_server.store
        assert store is not None
        ticket = opinion_server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"})
        branch = store.branch("b1")
        with store.db.write() as session:
            from server.models import Ticket

            row = session.get(Ticket, ticket.json()["id"])
            assert row is not None
            made = opinion_rules.open_opinion_from_rating(
                session=session,
                branch=branch,
                ticket=row,
                rating=1,
                reasons=["long_wait"],
                reason_text={"long_wait": "等候太久"},
                counter="2",
                now=clock.now,
            )
            none_high = opinion_rules.open_opinion_from_rating(
                session=session, branch=branch, ticket=row, rating=4, reasons=["x"], now=clock.now
            )
            none_bare = opinion_rules.open_opinion_from_rating(
                session=session, branch=branch, ticket=row, rating=1, reasons=[], now=clock.now
            )
        assert isinstance(made, Opinion) and none_high is None and none_bare is None
        inbox = opinion_server.client("manager").get("/branches/b1/opinions").json()
        assert inbox[0]["source"] == "rating" and inbox[0]["category"] == "waiting"
        assert inbox[0]["rating"] == 1 and inbox[0]["counter"] == "2"
        assert "等候太久" in inbox[0]["text"]

    def test_reasons_map_to_categories(self) -> None:
        assert opinion_rules.category_of_reasons(["rude"]) == "attitude"
        assert opinion_rules.category_of_reasons(["slow_service"]) == "waiting"
        assert opinion_rules.category_of_reasons(["unclear_process"]) == "process"
        assert opinion_rules.category_of_reasons(["dirty", "environment"]) == "environment"
        assert opinion_rules.category_of_reasons(["something"]) == "other"
