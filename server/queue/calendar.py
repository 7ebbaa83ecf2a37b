"""Business days and opening hours, in the branch's own timezone."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from server.config import BranchSettings, ServiceSettings
from server.errors import Conflict

if TYPE_CHECKING:
    from server.queue.today import Today

WEEKDAY_NAMES = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def business_day(branch: BranchSettings, now: datetime) -> date:
    """Numbering restarts at the branch's reset time, local time."""
    local = now.astimezone(branch.zone)
    reset = branch.reset_at
    shifted = local - timedelta(hours=reset.hour, minutes=reset.minute)
    return shifted.date()


def day_starts(branch: BranchSettings, day: date) -> datetime:
    """The moment business day `day` begins: its reset time, local time."""
    return datetime.combine(day, branch.reset_at, tzinfo=branch.zone)


def day_span(branch: BranchSettings, day: date) -> tuple[datetime, datetime]:
    """Business day `day` as [its reset time, the next one), local time."""
    return day_starts(branch, day), day_starts(branch, day + timedelta(days=1))


@dataclass(frozen=True)
class BusinessDays:
    """Consecutive business days [first, first + n) with their boundaries worked out
    once: the day a moment falls in is a bisect of those, not a conversion to local
    time per moment (what reading an event log day by day needs). The same day as
    `business_day` gives, wherever the reset time is not in a daylight-saving change."""

    first: date
    starts: tuple[datetime, ...]  # n + 1 reset times: each day's beginning, then the end

    @classmethod
    def of(cls, branch: BranchSettings, first: date, count: int) -> BusinessDays:
        days = (first + timedelta(days=k) for k in range(count + 1))
        return cls(first, tuple(day_starts(branch, day) for day in days))

    def day_of(self, moment: datetime) -> date | None:
        """The business day of `moment` (aware); None outside these days."""
        index = bisect_right(self.starts, moment) - 1
        if 0 <= index < len(self.starts) - 1:
            return self.first + timedelta(days=index)
        return None


def today_window(branch: BranchSettings, now: datetime) -> tuple[datetime, datetime]:
    """The business day `now` falls in, as [start, end): what every page calls
    "today" (recent calls, waiting, counts) begins at the reset time, not midnight."""
    return day_span(branch, business_day(branch, now))


class BranchClosed(Conflict):
    code = "branch_closed"


def next_opening(branch: BranchSettings, now: datetime) -> datetime | None:
    """The next moment (local time) the branch opens, within two weeks."""
    if branch.hours is None:
        return None
    local = now.astimezone(branch.zone)
    for offset in range(15):
        day = local.date() + timedelta(days=offset)
        span = branch.hours.span_for(day)
        if span is None:
            continue
        opens = datetime.combine(day, span[0], tzinfo=branch.zone)
        if opens > local:
            return opens
    return None


def check_open_for_tickets(service: ServiceSettings, today: Today) -> None:
    """Raise BranchClosed, saying when to come back, outside hours or after the
    service's last-ticket time."""
    branch, now, local = today.branch, today.now, today.local
    if branch.hours is None and service.last_ticket_at is None:
        return
    closes = None
    if branch.hours is not None:
        span = today.opening
        if span is None or not (span[0] <= local.time() < span[1]):
            raise BranchClosed(
                _come_back(branch, now, "The branch is closed now", "本网点现在不营业")
            )
        closes = span[1]
    last = service.last_ticket_at
    if last is not None:
        if closes is None or last < closes:
            closes = last
        if local.time() >= last:
            raise BranchClosed(
                _come_back(
                    branch,
                    now,
                    f"No more tickets for {service.name.en} today "
                    f"(last ticket {service.last_ticket})",
                    f"{service.name.zh}今日已停止取号（最后取号时间 {service.last_ticket}）",
                    after_today=True,
                )
            )


def _come_back(
    branch: BranchSettings, now: datetime, en: str, zh: str, *, after_today: bool = False
) -> str:
    probe = now
    if after_today:
        local = now.astimezone(branch.zone)
        probe = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), branch.zone)
    opens = next_opening(branch, probe)
    if opens is None:
        return f"{zh}。{en}."
    day_zh = WEEKDAY_NAMES["zh"][opens.weekday()]
    day_en = WEEKDAY_NAMES["en"][opens.weekday()]
    when = opens.strftime("%H:%M")
    return (
        f"{zh}，请于{opens.month}月{opens.day}日（{day_zh}）{when}后再来。"
        f" {en}. Please come back on {day_en} {opens.date().isoformat()} from {when}."
    )
