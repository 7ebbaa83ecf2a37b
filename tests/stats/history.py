"""A hand-built day: the real queue use-cases driven at exact seconds (FakeClock),
so every timestamp in the event log is known and the figures can be worked out
by hand in the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from server.config import AppConfig, BranchSettings
from server.db import Database
from server.devices import ratings
from server.models import Ticket
from server.queue import counters, tickets
from tests.support import FakeClock

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


@dataclass
class Day:
    config: AppConfig
    db: Database
    clock: FakeClock

    @property
    def branch(self) -> BranchSettings:
        return self.config.branches[0]

    def at(self, seconds: float) -> datetime:
        self.clock.now = T0 + timedelta(seconds=seconds)
        return self.clock.now

    def issue(self, s: float, service: str, priority: str = "normal") -> str:
        with self.db.write() as session:
            issued = tickets.issue_ticket(
                session=session,
                branch=self.branch,
                service=service,
                priority=priority,
                now=self.at(s),
            )
            return issued.ticket.number

    def counter(self, s: float, action: Any, counter: str, username: str, **kw: Any) -> Any:
        with self.db.write() as session:
            return action(
                session=session,
                branch=self.branch,
                counter=counter,
                username=username,
                now=self.at(s),
                **kw,
            )

    def rate(self, s: float, counter: str, number: str, rating: int) -> None:
        """The customer rates on the counter's pad."""
        with self.db.write() as session:
            ratings.rate_at_counter(
                session=session,
                branch=self.branch,
                counter=counter,
                number=number,
                rating=rating,
                reasons=[],
                now=self.at(s),
            )

    def open(self, s: float, counter: str, username: str) -> None:
        self.counter(s, counters.open_counter, counter, username)

    def call(self, s: float, counter: str, username: str, number: str) -> None:
        self.counter(
            s,
            tickets.call_number,
            counter,
            username,
            number=number,
        )

    def cancel(self, s: float, number: str) -> None:
        with self.db.write() as session:
            ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
            tickets.cancel_by_customer(
                session=session, branch=self.branch, ticket=ticket, now=self.at(s)
            )


def build_history(day: Day) -> None:
    """Seven tickets; the expected figures in test_stats_compute.py follow from these
    seconds (after 10:00 local)."""
    c = tickets
    day.open(0, "1", "teller1")
    day.open(0, "3", "teller3")
    day.open(0, "4", "teller4")
    assert day.issue(0, "A") == "A001"  # T1
    assert day.issue(60, "A") == "A002"  # T2
    assert day.issue(120, "B") == "B001"  # T3
    assert day.issue(180, "A", "vip") == "VA003"  # T4
    assert day.issue(240, "A") == "A004"  # T5
    # T1: called 300 (wait 300), started 330, completed 600 (service 270), rated 5 on the pad.
    day.call(300, "1", "teller1", "A001")
    day.counter(330, c.start_service, "1", "teller1")
    day.counter(600, c.complete, "1", "teller1")
    day.rate(600, "1", "A001", 5)
    # T3: called 420 (wait 300), recalled 480, no-show 540; reinstated: called again by
    # number at 900, completed at 1000 without a start (service 100), rated 3.
    day.call(420, "3", "teller3", "B001")
    day.counter(480, c.recall, "3", "teller3")
    day.counter(540, c.mark_no_show, "3", "teller3")
    # T4 (vip): called 660 (wait 480), started 700, transferred to C at 760; called at
    # counter 4 at 1060 (transfer wait 300), started 1100, completed 1700 (service 600).
    day.call(660, "1", "teller1", "VA003")
    day.counter(700, c.start_service, "1", "teller1")
    day.counter(760, c.transfer, "1", "teller1", to_service="C")
    # T5: cancelled by the customer at 840, never called.
    day.cancel(840, "A004")
    day.call(900, "3", "teller3", "B001")
    day.counter(1000, c.complete, "3", "teller3")
    day.rate(1000, "3", "B001", 3)
    day.counter(1060, c.call_next, "4", "teller4")
    day.counter(1100, c.start_service, "4", "teller4")
    # T2: called 1200 (wait 1140: past A's 15-minute target), completed 1500 (service 300).
    day.call(1200, "1", "teller1", "A002")
    # T6: issued 1300, called 1400 (wait 100), recalled 1430, no-show 1460 for good.
    assert day.issue(1300, "B") == "B002"
    day.call(1400, "3", "teller3", "B002")
    day.counter(1430, c.recall, "3", "teller3")
    day.counter(1460, c.mark_no_show, "3", "teller3")
    # The teller typed a 1 at completion (v1 `complete {rating}`): never counted.
    day.counter(1500, c.complete, "1", "teller1", rating=1)
    day.counter(1700, c.complete, "4", "teller4")
    day.rate(1700, "4", "VA003", 4)
    # T7: issued at 11:01:40, still waiting at the end of the day.
    assert day.issue(3700, "C") == "C001"
