"""The HQ overview's "today" is the branch's business day, from its reset time — the
same day its waiting line is counted in — not the calendar day (issue 12 item 3)."""

from __future__ import annotations

from datetime import UTC, datetime

from server.config import BranchSettings
from server.hq.overview import overview
from tests.stats.history import Day

# Tuesday 2026-12-01 01:00 in Shanghai: with a 03:00 reset, still Monday's business day,
# the hand-built day of history.py (4 served, C001 still waiting).
AFTER_MIDNIGHT = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def _with_reset(branch: BranchSettings, reset: str) -> BranchSettings:
    # validated again: model_copy would keep the reset time parsed at load
    return type(branch).model_validate({**branch.model_dump(), "reset_time": reset})


def test_served_today_counts_from_the_reset_time(history: Day) -> None:
    late = _with_reset(history.branch, "03:00")
    with history.db.read() as session:
        (row,) = overview(session, branches=[late], now=AFTER_MIDNIGHT)
        (calendar,) = overview(session, branches=[history.branch], now=AFTER_MIDNIGHT)
    assert row.served_today == 4  # Monday's business day runs until 03:00 on Tuesday
    assert row.waiting == 1  # the line of the same day
    assert calendar.served_today == 0 and calendar.waiting == 0  # midnight reset: a new day
