""""Today" on every page starts at the branch's reset time, in its timezone: the TV's
recent calls, the kiosk's waiting counts, the teller's and the dashboard's figures and
the /metrics counts. A hand clock walks a real server across midnight and across a
reset time of 03:00 (Asia/Shanghai)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support import FakeClock, LiveServer, make_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(day: int, hour: int, minute: int) -> datetime:
    """A moment of November 2026 in Shanghai time, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(shanghai(30, 22, 30))


def start(database_url: str, tmp_path: Path, clock: FakeClock, reset: str) -> LiveServer:
    config = make_config(database_url, tmp_path / "data", reset_time=reset)
    return LiveServer(config=config, clock=clock).start()


@pytest.fixture
def reset_at_three(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    server = start(database_url, tmp_path, clock, "03:00")
    yield server
    server.stop()


@pytest.fixture
def reset_at_midnight(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[LiveServer]:
    server = start(database_url, tmp_path, clock, "00:00")
    yield server
    server.stop()


def metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and 'branch="b1"' in line
    )


def today(server: LiveServer) -> dict[str, Any]:
    """What each page shows as today."""
    with (
        server.client("display") as display,
        server.client("kiosk") as kiosk,
        server.client("teller1") as teller,
        server.client("manager") as manager,
    ):
        queue = display.get("/branches/b1/queue").json()
        services = kiosk.get("/branches/b1/services").json()
        summary = teller.get("/branches/b1/counters/1/summary").json()
        dashboard = httpx.get(
            f"{server.url}/dashboard/b1/summary.json",
            headers={"Authorization": f"Bearer {server.token('manager')}"},
        ).json()
        metrics = manager.get("/metrics").text
    return {
        "recent": [c["number"] for c in queue["recent_calls"]],
        "business_day": queue["business_day"],
        "waiting": {s["code"]: s["waiting"] for s in services},
        "served_at_counter": summary["today"]["counter"]["served"],
        "dashboard_served": dashboard["totals"]["served"],
        "calls_today": metric(metrics, "lobbyq_calls_today"),
        "issued_today": metric(metrics, "lobbyq_issued_today"),
    }


def evening_work(server: LiveServer) -> None:
    with server.client("kiosk") as kiosk, server.client("teller1") as teller:
        for service in ("A", "A", "B"):
            kiosk.post("/branches/b1/tickets", json={"service": service}).raise_for_status()
        teller.post("/branches/b1/counters/1/open").raise_for_status()
        assert teller.post("/branches/b1/counters/1/call-next").json()["ticket"]["number"] == "A001"
        teller.post("/branches/b1/counters/1/complete").raise_for_status()
        assert teller.post("/branches/b1/counters/1/call-next").json()["ticket"]["number"] == "A002"


def test_reset_at_three_keeps_the_day_across_midnight_and_starts_anew_at_three(
    reset_at_three: LiveServer, clock: FakeClock
) -> None:
    evening_work(reset_at_three)
    busy = {
        "recent": ["A002", "A001"],
        "business_day": "2026-11-30",
        "waiting": {"A": 0, "B": 1, "C": 0},
        "served_at_counter": 1,
        "dashboard_served": 1,
        "calls_today": 2,
        "issued_today": 3,
    }
    assert today(reset_at_three) == busy
    clock.now = shanghai(30, 23, 59)
    assert today(reset_at_three) == busy
    clock.now = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on Dec 1 in Shanghai
    assert today(reset_at_three) == busy  # past midnight: still the same business day
    clock.now = datetime(2026, 11, 30, 18, 59, tzinfo=UTC)  # 02:59
    assert today(reset_at_three) == busy
    clock.now = datetime(2026, 11, 30, 19, 1, tzinfo=UTC)  # 03:01: a new business day
    assert today(reset_at_three) == {
        "recent": [],
        "business_day": "2026-12-01",
        "waiting": {"A": 0, "B": 0, "C": 0},
        "served_at_counter": 0,
        "dashboard_served": 0,
        "calls_today": 0,
        "issued_today": 0,
    }
    with reset_at_three.client("kiosk") as kiosk:  # and numbering starts again
        ticket = kiosk.post("/branches/b1/tickets", json={"service": "B"}).json()
    assert ticket["number"] == "B001"
    assert today(reset_at_three)["waiting"]["B"] == 1


def test_reset_at_midnight_starts_the_day_at_midnight(
    reset_at_midnight: LiveServer, clock: FakeClock
) -> None:
    evening_work(reset_at_midnight)
    assert today(reset_at_midnight)["recent"] == ["A002", "A001"]
    clock.now = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert today(reset_at_midnight)["recent"] == ["A002", "A001"]
    clock.now = datetime(2026, 11, 30, 16, 1, tzinfo=UTC)  # 00:01
    after = today(reset_at_midnight)
    assert after["recent"] == [] and after["business_day"] == "2026-12-01"
    assert after["waiting"]["B"] == 0
    assert after["served_at_counter"] == after["dashboard_served"] == after["calls_today"] == 0
