"""The day a use-case runs in, worked out once from `now` and passed down.

Issuing a ticket reads the business day, the opening span and the ordering rules in
several steps (the hours check, the line, the estimate, its calibration); each used to
work them out again from the branch and `now`. A use-case now builds one `Today` as it
begins and hands it to every step, so they all see the same day and nobody recomputes
it. `now` stays the use-case's parameter: `Today.of(branch, now)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from server.config import BranchSettings
from server.queue import ordering
from server.queue.calendar import business_day, day_span
from server.queue.line import rules_for


@dataclass(frozen=True)
class Today:
    branch: BranchSettings
    now: datetime
    day: date  # the business day (numbering restarts at the reset time)
    starts: datetime  # when the business day began, local time
    ends: datetime  # when the next one begins
    local: datetime  # `now` in the branch's timezone
    opening: tuple[time, time] | None  # today's opening hours (None: closed, or no hours)
    rules: ordering.Rules  # the ordering of the line

    @classmethod
    def of(cls, branch: BranchSettings, now: datetime) -> Today:
        day = business_day(branch, now)
        local = now.astimezone(branch.zone)
        hours = branch.hours
        starts, ends = day_span(branch, day)
        return cls(
            branch=branch,
            now=now,
            day=day,
            starts=starts,
            ends=ends,
            local=local,
            opening=hours.span_for(local.date()) if hours is not None else None,
            rules=rules_for(branch),
        )
