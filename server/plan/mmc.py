"""`lobbyq simulate --model mmc`: the real use-cases (issue_ticket, call_next, complete,
open/close_counter, each in its own write transaction at its simulated `now`) under
the textbook M/M/c queue: Poisson arrivals, exponential service, C identical counters
serving one service, no priorities, no patience, no pauses, and a counter calls the
next customer the moment it is free. Its mean wait is compared with Erlang C's
(server/plan/erlang.py): a check that the queue rules and the wait measured from the
event log (docs/statistics.md) behave as queueing theory says.

A simulated day: arrivals from DAY_START for `hours` hours, then the line is served
to the end; each day starts empty (the numbering restarts at midnight), so the first
`warmup_hours` of arrivals are left out of the mean (the queue is still filling up);
the days are independent, so their spread gives a 95 % confidence interval."""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlmodel import Session, select

from server.config import AppConfig, BranchSettings, load_config
from server.errors import QueueEmpty
from server.models import Role, User
from server.plan import erlang
from server.queue import counters as counter_rules
from server.queue import tickets as ticket_rules
from server.stats.compute import DateRange, load_facts

Write = Callable[[], AbstractContextManager[Session]]

DAY_START = time(1, 0)
FIRST_DAY = date(2026, 1, 5)
# Student's t, 97.5 % quantile, by degrees of freedom (for the days' spread).
_T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


@dataclass(frozen=True)
class MmcPlan:
    arrivals_per_hour: float
    service_min: float
    counters: int
    days: int = 20
    seed: int = 1
    hours: float = 20.0
    warmup_hours: float = 2.0

    @property
    def load(self) -> float:
        return self.arrivals_per_hour * self.service_min / 60 / self.counters

    def erlang_c_wait_s(self) -> float:
        mu = 60.0 / self.service_min  # per hour
        return erlang.mean_wait(self.arrivals_per_hour, mu, self.counters) * 3600


@dataclass
class MmcResult:
    plan: MmcPlan
    day_means: list[float] = field(default_factory=list)
    day_counts: list[int] = field(default_factory=list)

    @property
    def tickets(self) -> int:
        return sum(self.day_counts)

    @property
    def mean_wait_s(self) -> float:
        total = sum(m * n for m, n in zip(self.day_means, self.day_counts, strict=True))
        return total / self.tickets if self.tickets else 0.0

    @property
    def half_width_s(self) -> float:
        """Half the 95 % confidence interval of the mean, from the days' spread."""
        n = len(self.day_means)
        if n < 2:
            return math.inf
        t = _T975.get(n - 1, 2.09 if n <= 21 else 1.96)
        return t * statistics.stdev(self.day_means) / math.sqrt(n)

    @property
    def deviation_pct(self) -> float:
        expected = self.plan.erlang_c_wait_s()
        return 100 * (self.mean_wait_s - expected) / expected if expected else 0.0

    def lines(self) -> list[str]:
        p = self.plan
        expected = p.erlang_c_wait_s()
        return [
            f"M/M/{p.counters}: {p.arrivals_per_hour:g} arrivals/h, service {p.service_min:g} min, "
            f"load {p.load:.2f}, {len(self.day_means)} days of {p.hours:g} h "
            f"(first {p.warmup_hours:g} h of each left out), {self.tickets} tickets",
            f"  mean wait {self.mean_wait_s:.1f} s ± {self.half_width_s:.1f} s (95 %), "
            f"Erlang C {expected:.1f} s: {self.deviation_pct:+.1f} %",
        ]


def mmc_config(plan: MmcPlan, folder: Path) -> AppConfig:
    """A one-service branch with `counters` identical counters, its database in
    `folder`."""
    counters = "\n".join(
        f'[[branches.counters]]\nnumber = "{i}"\nservices = ["A"]\n'
        for i in range(1, plan.counters + 1)
    )
    text = f"""
[server]
database_url = "sqlite:///{folder / "mmc.db"}"
data_dir = "{folder / "data"}"

[[branches]]
code = "mmc"
name = {{ zh = "M/M/c 检验", en = "M/M/c check" }}
timezone = "Asia/Shanghai"
ordering = "strict"

[[branches.services]]
code = "A"
prefix = "A"
target_wait_min = 15
service_time_min = {plan.service_min}
name = {{ zh = "业务", en = "Service" }}

{counters}
"""
    path = folder / "mmc.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


class _Day:
    def __init__(
        self, branch: BranchSettings, write: Write, plan: MmcPlan, day: date, rng: random.Random
    ) -> None:
        self.branch, self.write, self.plan, self.day, self.rng = branch, write, plan, day, rng
        self.events: list[tuple[datetime, int, str, str]] = []
        self.order = 0
        self.idle: list[str] = []  # free counters, in number order

    def at(self, when: datetime, kind: str, counter: str = "") -> None:
        self.order += 1
        heapq.heappush(self.events, (when, self.order, kind, counter))

    def teller(self, counter: str) -> str:
        return f"mmc-teller{counter}"

    def act(self, action: Callable[..., object], counter: str, now: datetime) -> None:
        """One teller's action at a counter, in its own transaction."""
        with self.write() as session:
            action(
                session=session,
                branch=self.branch,
                counter=counter,
                username=self.teller(counter),
                now=now,
            )

    def call(self, now: datetime, counter: str) -> None:
        try:
            self.act(ticket_rules.call_next, counter, now)
        except QueueEmpty:
            heapq.heappush(self.idle, counter)
            return
        service_s = self.rng.expovariate(1.0 / (self.plan.service_min * 60))
        self.at(now + timedelta(seconds=service_s), "done", counter)

    def run(self) -> None:
        start = datetime.combine(self.day, DAY_START, tzinfo=self.branch.zone)
        counters = [c.number for c in self.branch.counters]
        for number in counters:
            self.act(counter_rules.open_counter, number, start)
            heapq.heappush(self.idle, number)
        end = start + timedelta(hours=self.plan.hours)
        moment = start
        while True:
            moment += timedelta(hours=self.rng.expovariate(self.plan.arrivals_per_hour))
            if moment >= end:
                break
            self.at(moment, "arrive")
        while self.events:
            now, _, kind, counter = heapq.heappop(self.events)
            if kind == "arrive":
                with self.write() as session:
                    ticket_rules.issue_ticket(
                        session=session, branch=self.branch, service="A", now=now, source="mmc"
                    )
                if self.idle:
                    self.call(now, heapq.heappop(self.idle))
            else:
                self.act(ticket_rules.complete, counter, now)
                self.call(now, counter)
        last = max(end, now) + timedelta(minutes=1)
        for number in counters:
            self.act(counter_rules.close_counter, number, last)


def simulate_mmc(plan: MmcPlan, *, branch: BranchSettings, write: Write, read: Write) -> MmcResult:
    """Run `plan.days` days; the waits are read back from the event log (first call -
    enqueued, docs/statistics.md) for the tickets issued after the warm-up."""
    rng = random.Random(plan.seed)
    with write() as session:
        known = set(session.exec(select(User.username)))
        for c in branch.counters:
            username = f"mmc-teller{c.number}"
            if username not in known:  # not a usable password: nobody signs in as one
                session.add(User(username=username, password_hash="!simulated", role=Role.teller))
    result = MmcResult(plan)
    for k in range(plan.days):
        day = FIRST_DAY + timedelta(days=k)
        _Day(branch, write, plan, day, rng).run()
        start = datetime.combine(day, DAY_START, tzinfo=branch.zone)
        counted = DateRange(
            start=start + timedelta(hours=plan.warmup_hours),
            end=start + timedelta(hours=plan.hours),
        )
        with read() as session:
            waits = [w for f in load_facts(session, branch, counted) if (w := f.wait_s) is not None]
        if waits:
            result.day_means.append(sum(waits) / len(waits))
            result.day_counts.append(len(waits))
    return result
