"""The suggested rota checked in the real simulator (server/dashboard/simulator.py:
the real use-cases, with customers who give up, are away when called, are
transferred, and tellers' few seconds between customers), not in the planner's own
model.

A rota a branch can run today: each counter keeps one set of services for the day (the
services the plan gives it in any slot) and is open from the first slot the plan opens
it to the end of the last (a gap in between is not closed: the check asks at least as
many counters as the plan, never fewer). The plan's positions beyond the branch ("+1",
"+2": the branch has too few counters) become counters X1, X2 of the checked branch.
Its figures are the statistics' own (docs/statistics.md): within target = served with
a wait <= the issue service's target / served; p90 by nearest rank over the called
tickets of a priority class and service."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from server.config import BranchSettings, CounterSettings
from server.dashboard.simulator import DayPlan, simulate_day
from server.plan.demand import SLOT_MIN
from server.plan.planner import Plan
from server.queue import ordering
from server.stats.compute import DateRange, load_facts, percentile

Write = Callable[[], AbstractContextManager[Session]]
SHARE_PCT = 80.0
CHECKED_CLASSES = ("vip", "accessibility")  # priority assistance


@dataclass(frozen=True)
class DayRota:
    """counter -> (services, opens, stops calling), local times."""

    counters: dict[str, tuple[tuple[str, ...], time, time]]

    @property
    def hours(self) -> dict[str, tuple[time, time]]:
        return {n: (opens, ends) for n, (_, opens, ends) in self.counters.items()}

    def counter_hours(self) -> float:
        spans = (_minutes(ends) - _minutes(opens) for _, opens, ends in self.counters.values())
        return sum(spans) / 60


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _slot_time(minutes: int) -> time:
    return time(min(23, minutes // 60), minutes % 60 if minutes < 24 * 60 else 59)


def counter_name(number: str) -> str:
    """The plan's "+1" as a counter number of the checked branch."""
    return f"X{number[1:]}" if number.startswith("+") else number


def day_rota(plan: Plan) -> DayRota:
    services: dict[str, list[str]] = {}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for slot in sorted(plan.rota):
        for number, given in plan.rota[slot].items():
            name = counter_name(number)
            taken = services.setdefault(name, [])
            taken.extend(code for code in given if code not in taken)
            first.setdefault(name, slot)
            last[name] = slot
    return DayRota(
        {
            name: (
                tuple(taken),
                _slot_time(first[name] * SLOT_MIN),
                _slot_time((last[name] + 1) * SLOT_MIN),
            )
            for name, taken in services.items()
        }
    )


def branch_for(branch: BranchSettings, rota: DayRota) -> BranchSettings:
    """The branch with the rota's services at each counter, and the counters beyond it."""
    counters = []
    known = {c.number for c in branch.counters}
    for c in branch.counters:
        given = rota.counters.get(c.number)
        counters.append(c.model_copy(update={"services": list(given[0])}) if given else c)
    for number, (services, _, _) in rota.counters.items():
        if number not in known:
            counters.append(CounterSettings(number=number, services=list(services)))
    return branch.model_copy(update={"counters": counters})


@dataclass
class CheckFigures:
    days: list[date] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    within_pct: dict[str, float] = field(default_factory=dict)
    wait_p90_s: dict[str, float] = field(default_factory=dict)
    class_p90_s: dict[tuple[str, str], float] = field(default_factory=dict)
    class_count: dict[tuple[str, str], int] = field(default_factory=dict)
    targets_s: dict[str, float] = field(default_factory=dict)
    cancelled: int = 0

    def misses(self) -> list[str]:
        """Every service below SHARE_PCT, every checked class whose p90 is past its
        service's target (with 5 tickets or more)."""
        missed = [f"{c} {p:.1f} %" for c, p in self.within_pct.items() if p < SHARE_PCT]
        for (klass, code), p90 in self.class_p90_s.items():
            if self.class_count[(klass, code)] >= 5 and p90 > self.targets_s[code]:
                missed.append(f"{klass} {code} p90 {p90:.0f} s")
        return missed


def figures_of(session: Session, branch: BranchSettings, days: list[date]) -> CheckFigures:
    out = CheckFigures(days=list(days))
    targets = {s.code: s.target_wait_min * 60.0 for s in branch.services}
    out.targets_s = targets
    waits: dict[str, list[float]] = {}
    within: dict[str, int] = {}
    by_class: dict[tuple[str, str], list[float]] = {}
    for day in days:
        begin = datetime.combine(day, time(0), tzinfo=branch.zone)
        for f in load_facts(session, branch, DateRange(begin, begin + timedelta(days=1))):
            wait = f.wait_s
            if f.outcome == "cancelled":
                out.cancelled += 1
            if wait is None:
                continue
            code = f.issue_service
            waits.setdefault(code, []).append(wait)
            if f.priority != ordering.NORMAL:
                by_class.setdefault((f.priority, code), []).append(wait)
            if f.outcome == "served":
                out.served[code] = out.served.get(code, 0) + 1
                within[code] = within.get(code, 0) + (wait <= targets.get(code, 0.0))
    for code, n in out.served.items():
        out.within_pct[code] = 100.0 * within.get(code, 0) / n
        out.wait_p90_s[code] = percentile(waits[code], 90) or 0.0
    for key, values in by_class.items():
        if key[0] in CHECKED_CLASSES:
            out.class_p90_s[key] = percentile(values, 90) or 0.0
            out.class_count[key] = len(values)
    return out


def check_week(
    branch: BranchSettings,
    rota: DayRota,
    *,
    write: Write,
    read: Write,
    days: list[date],
    seed: int = 1,
    volume: float = 1.0,
    echo: Callable[[str], Any] = lambda _: None,
) -> CheckFigures:
    """Each day through the real simulator with the rota (`branch` already
    branch_for(...) and bootstrapped), then the week's figures."""
    for k, day in enumerate(days):
        result = simulate_day(
            branch=branch,
            write=write,
            read=read,
            day=day,
            plan=DayPlan(seed=seed + k, volume=volume, rota=rota.hours),
        )
        echo(f"  {day}: issued {result.issued}, served {result.served}")
    with read() as session:
        return figures_of(session, branch, days)
