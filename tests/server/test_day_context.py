"""The day's context is worked out once per use-case, at its `now`, and passed down:
the statistics' default range, the plan and its advice, the lobby tablet. With the
day reset at 03:00 (Asia/Shanghai), 02:59 still belongs to yesterday's business day
and 03:00 begins today's, wherever that context is used. Reading the event log day by
day maps each moment to its business day through boundaries worked out once
(`BusinessDays`), which must agree with `business_day` for every moment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.config import BranchSettings
from server.events import EventType
from server.plan.demand import SLOT_MIN, SLOTS, _fold_day
from server.queue.calendar import BusinessDays, business_day
from server.stats.compute import parse_range
from tests.support import FakeClock, LiveServer, make_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(day: int, hour: int, minute: int, month: int = 12) -> datetime:
    """A moment of 2026 in Shanghai time, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def branch_with(reset: str, zone: str = "Asia/Shanghai") -> BranchSettings:
    config = make_config("sqlite:///unused.db", Path("unused"), reset_time=reset, timezone=zone)
    return config.branches[0]


AT_THREE = branch_with("03:00")


# -- the boundaries worked out once agree with business_day -----------------------------


ZONES = ["Asia/Shanghai", "Europe/London", "Asia/Kolkata", "America/Sao_Paulo", "UTC"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    reset=st.sampled_from(["00:00", "03:00", "04:30", "05:45"]),
    seconds=st.integers(min_value=0, max_value=400 * 86400),
)
def test_business_days_map_every_moment_as_business_day_does(
    zone: str, reset: str, seconds: int
) -> None:
    branch = branch_with(reset, zone)
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    first = business_day(branch, moment) - timedelta(days=3)
    days = BusinessDays.of(branch, first, 7)
    assert days.day_of(moment) == business_day(branch, moment)
    # Outside the days it covers: none.
    assert BusinessDays.of(branch, first, 3).day_of(moment) is None
    assert BusinessDays.of(branch, first + timedelta(days=4), 3).day_of(moment) is None


def test_the_reset_minute_is_the_boundary() -> None:
    days = BusinessDays.of(AT_THREE, date(2026, 11, 30), 2)  # Nov 30 and Dec 1
    assert days.day_of(shanghai(30, 2, 59, month=11)) is None  # Nov 29's
    assert days.day_of(shanghai(30, 3, 0, month=11)) == date(2026, 11, 30)
    assert days.day_of(shanghai(1, 2, 59)) == date(2026, 11, 30)
    assert days.day_of(shanghai(1, 3, 0)) == date(2026, 12, 1)
    assert days.day_of(shanghai(2, 2, 59)) == date(2026, 12, 1)
    assert days.day_of(shanghai(2, 3, 0)) is None


# -- the statistics' default range ---------------------------------------------------------


def test_the_default_report_is_the_business_day_at_now() -> None:
    before = parse_range(AT_THREE, None, None, shanghai(1, 2, 59))
    assert (before.start.isoformat(), before.end.isoformat()) == (
        "2026-11-30T03:00:00+08:00",
        "2026-12-01T03:00:00+08:00",
    )
    after = parse_range(AT_THREE, None, None, shanghai(1, 3, 0))
    assert (after.start.isoformat(), after.end.isoformat()) == (
        "2026-12-01T03:00:00+08:00",
        "2026-12-02T03:00:00+08:00",
    )


def test_a_range_from_a_moment_ends_with_that_moments_business_day() -> None:
    now = shanghai(5, 12, 0)
    late = parse_range(AT_THREE, "2026-12-01T02:59:00+08:00", None, now)
    assert late.end.isoformat() == "2026-12-01T03:00:00+08:00"
    early = parse_range(AT_THREE, "2026-12-01T03:00:00+08:00", None, now)
    assert early.end.isoformat() == "2026-12-02T03:00:00+08:00"


# -- the plan learns each day's tickets by business day ------------------------------------


def test_the_plan_counts_a_ticket_in_its_business_day() -> None:
    """Tickets at 02:59 and 03:00 on both ends of Monday Nov 30's business day."""
    issued = [
        (shanghai(30, 2, 59, month=11), 1, "A"),  # Sunday's
        (shanghai(30, 3, 0, month=11), 2, "A"),  # Monday's first minute
        (shanghai(1, 2, 59), 3, "B"),  # Monday's last minute (Tuesday 02:59)
        (shanghai(1, 3, 0), 4, "B"),  # Tuesday's
    ]
    rows = [
        (str(EventType.ticket_issued), at, ticket, {"service": service, "priority": "normal"})
        for at, ticket, service in issued
    ]
    counts: dict[str, list[float]] = {"A": [0.0] * SLOTS, "B": [0.0] * SLOTS}
    times: dict[str, list[float]] = {"A": [], "B": []}
    classes: dict[str, dict[str, int]] = {"A": {}, "B": {}}
    monday = BusinessDays.of(AT_THREE, date(2026, 11, 30), 1)
    assert _fold_day(rows, AT_THREE, monday, counts, times, classes)
    three, half_past_two = 3 * 60 // SLOT_MIN, (2 * 60 + 30) // SLOT_MIN
    assert {i: n for i, n in enumerate(counts["A"]) if n} == {three: 1.0}
    assert {i: n for i, n in enumerate(counts["B"]) if n} == {half_past_two: 1.0}
    assert classes == {"A": {"normal": 1}, "B": {"normal": 1}}


# -- live: the plan, the advice and the lobby tablet at 02:59 and 03:00 --------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(shanghai(1, 2, 58))  # Tuesday 02:58: still Monday's business day


@pytest.fixture
def server(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    config = make_config(database_url, tmp_path / "data", reset_time="03:00")
    live = LiveServer(config=config, clock=clock).start()
    yield live
    live.stop()


def test_plan_advice_and_lobby_read_the_day_at_their_now(
    server: LiveServer, clock: FakeClock
) -> None:
    with server.client("manager") as manager:
        vip = manager.post(
            "/branches/b1/tickets", json={"service": "A", "priority": "vip", "print": False}
        )
        assert vip.status_code == 201, vip.text

        def read() -> tuple[str, str, list[Any]]:
            plan = manager.get("/branches/b1/plan", params={"weeks": 1})
            advice = manager.get("/branches/b1/plan/advice")
            lobby = manager.get("/branches/b1/lobby")
            for answer in (plan, advice, lobby):
                assert answer.status_code == 200, answer.text
            arrivals = [a["number"] for a in lobby.json()["arrivals"]]
            return plan.json()["weekday"], advice.json()["weekday"], arrivals

        clock.now = shanghai(1, 2, 59)
        assert read() == ("mon", "mon", [vip.json()["number"]])
        clock.now = shanghai(1, 3, 0)
        assert read() == ("tue", "tue", [])  # a new business day: yesterday's VIP is gone
