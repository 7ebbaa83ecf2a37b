"""Statistics on the hand-built day of history.py; every expected figure is worked
out by hand from the seconds written there (docs/statistics.md has the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from server.errors import InvalidInput
from server.stats.compute import Report, branch_report, parse_range, percentile
from tests.stats.history import T0, Day


def report(
    day: Day, group_by: Any, from_: str | None = "2026-11-30", to: str | None = None
) -> Report:
    span = parse_range(day.branch, from_, to, T0)
    with day.db.read() as session:
        return branch_report(session, branch=day.branch, group_by=group_by, span=span)


def rows(rep: Report) -> dict[Any, dict[str, Any]]:
    return {row["key"]: row for row in rep.rows}


class TestTotals:
    def test_counts(self, history: Day) -> None:
        totals = report(history, "service").totals
        # 7 issued; served A001, A002, B001 (reinstated), VA003 (after its transfer);
        # B002 a no-show for good; A004 cancelled; C001 still waiting.
        assert totals["issued"] == 7
        assert totals["served"] == 4
        assert totals["no_show"] == 1  # B001 was reinstated and served: not a no-show
        assert totals["cancelled"] == 1
        assert totals["transferred"] == 1
        assert totals["called"] == 5
        assert totals["recalls"] == 2
        assert totals["no_show_pct"] == 14.3  # 1 / 7

    def test_waits(self, history: Day) -> None:
        totals = report(history, "service").totals
        # First call - enqueued: A001 300, A002 1140, B001 300 (its call at 900 after
        # the no-show does not count), VA003 480 (not the 300 s after its transfer),
        # B002 100.  Sorted: 100 300 300 480 1140.
        assert totals["wait_avg_s"] == 464.0  # 2320 / 5
        assert totals["wait_p50_s"] == 300.0  # nearest rank ceil(0.5*5) = 3rd
        assert totals["wait_p90_s"] == 1140.0  # ceil(0.9*5) = 5th
        assert totals["wait_max_s"] == 1140.0
        assert totals["transfer_wait_avg_s"] == 300.0  # VA003: 760 -> 1060

    def test_service_times_targets_and_ratings(self, history: Day) -> None:
        totals = report(history, "service").totals
        # A001 600-330=270; A002 1500-1200=300 (no start); B001 1000-900=100;
        # VA003 1700-1100=600 (the last segment only).  Sorted: 100 270 300 600.
        assert totals["service_avg_s"] == 317.5
        assert totals["service_p90_s"] == 600.0  # ceil(0.9*4) = 4th
        # Served within target: A001 300<=900 yes, A002 1140>900 no, B001 300<=1200
        # yes, VA003 480<=900 (A's target, where it waited) yes: 3 of 4.
        assert totals["within_target_pct"] == 75.0
        # Ratings 5, 3, 4: two of three are 4 or more.
        assert totals["ratings"] == 3
        assert totals["satisfied_pct"] == 66.7


class TestGroups:
    def test_by_service(self, history: Day) -> None:
        by = rows(report(history, "service"))
        assert list(by) == ["A", "B", "C"]
        a, b, c = by["A"], by["B"], by["C"]
        assert a["name"] == {"zh": "个人现金", "en": "Cash"}
        # A: A001, A002, A004 (VA003 counts under C, where it was completed).
        assert (a["issued"], a["served"], a["cancelled"], a["transferred"]) == (3, 2, 1, 0)
        assert (a["wait_avg_s"], a["wait_p50_s"], a["wait_p90_s"], a["wait_max_s"]) == (
            720.0,
            300.0,
            1140.0,
            1140.0,
        )
        assert (a["service_avg_s"], a["service_p90_s"]) == (285.0, 300.0)
        assert a["within_target_pct"] == 50.0
        assert (a["ratings"], a["satisfied_pct"]) == (1, 100.0)
        # B: B001 (served) and B002 (no-show).
        assert (b["issued"], b["served"], b["no_show"]) == (2, 1, 1)
        assert (b["wait_avg_s"], b["wait_p50_s"], b["wait_p90_s"]) == (200.0, 100.0, 300.0)
        assert (b["service_avg_s"], b["within_target_pct"]) == (100.0, 100.0)
        assert (b["ratings"], b["satisfied_pct"], b["recalls"]) == (1, 0.0, 2)
        # C: VA003 (transferred in, served) and C001 (waiting).
        assert (c["issued"], c["served"], c["transferred"], c["called"]) == (2, 1, 1, 1)
        assert (c["wait_avg_s"], c["service_avg_s"], c["within_target_pct"]) == (
            480.0,
            600.0,
            100.0,
        )

    def test_by_counter_and_teller(self, history: Day) -> None:
        by = rows(report(history, "counter"))
        assert list(by) == ["1", "3", "4", None]
        assert (by["1"]["served"], by["1"]["wait_avg_s"]) == (2, 720.0)
        assert (by["3"]["served"], by["3"]["no_show"]) == (1, 1)
        assert (by["4"]["served"], by["4"]["transferred"], by["4"]["service_avg_s"]) == (
            1,
            1,
            600.0,
        )
        # Never called: A004 (cancelled) and C001 (waiting).
        assert (by[None]["issued"], by[None]["cancelled"], by[None]["called"]) == (2, 1, 0)
        assert by[None]["wait_avg_s"] is None
        tellers = rows(report(history, "teller"))
        assert list(tellers) == ["teller1", "teller3", "teller4", None]
        assert tellers["teller1"]["served"] == 2
        assert tellers["teller4"]["satisfied_pct"] == 100.0

    def test_by_priority_hour_and_day(self, history: Day) -> None:
        by = rows(report(history, "priority"))
        assert list(by) == ["normal", "vip"]
        assert (by["vip"]["issued"], by["vip"]["wait_avg_s"]) == (1, 480.0)
        assert by["normal"]["issued"] == 6
        hours = rows(report(history, "hour"))
        assert list(hours) == [10, 11]  # local time: 02:00 UTC is 10:00 in Shanghai
        assert (hours[10]["issued"], hours[11]["issued"]) == (6, 1)
        assert hours[10]["name"]["en"] == "10:00–11:00"
        days = rows(report(history, "day"))
        assert list(days) == ["2026-11-30"]
        assert days["2026-11-30"]["served"] == 4


class TestRange:
    def test_a_datetime_range_selects_by_issue_time(self, history: Day) -> None:
        # 10:00:00 to 10:02:30 local: A001 (0 s), A002 (60 s), B001 (120 s).
        rep = report(history, "service", "2026-11-30T10:00:00", "2026-11-30T10:02:30")
        assert rep.totals["issued"] == 3
        assert rep.totals["served"] == 3

    def test_a_range_in_another_timezone_offset(self, history: Day) -> None:
        # 02:00-02:01 UTC is 10:00-10:01 local: A001 only (A002 at 02:01:00 is excluded).
        rep = report(history, "service", "2026-11-30T02:00:00+00:00", "2026-11-30T02:01:00Z")
        assert rep.totals["issued"] == 1

    def test_another_day_is_empty(self, history: Day) -> None:
        rep = report(history, "service", "2026-12-01")
        assert rep.rows == []
        assert rep.totals["issued"] == 0
        assert rep.totals["wait_avg_s"] is None

    @pytest.mark.parametrize(
        ("from_", "to"),
        [("yesterday", None), ("2026-11-30", "2026-11-29"), ("2025-01-01", "2026-11-30")],
    )
    def test_bad_ranges(self, day: Day, from_: str, to: str | None) -> None:
        with pytest.raises(InvalidInput):
            parse_range(day.branch, from_, to, T0)

    def test_default_is_today_local(self, day: Day) -> None:
        span = parse_range(day.branch, None, None, datetime.fromisoformat("2026-11-30T17:00Z"))
        assert span.start.isoformat() == "2026-12-01T00:00:00+08:00"
        assert span.end.isoformat() == "2026-12-02T00:00:00+08:00"


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0
