"""Live advice for the dashboard: are today's arrivals running above the plan, and
how many more counters should open for which service now (zh and en)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from server.config import BranchSettings
from server.db import connection_of
from server.models import Counter, CounterState, Ticket
from server.plan import erlang
from server.plan.answers import AdviceMessage, AdviceOut, ServiceAdviceOut
from server.plan.demand import SLOT_MIN
from server.plan.planner import SHARE, Plan, plan_on
from server.queue.today import Today

WINDOW = timedelta(minutes=60)  # today's arrival rate: the last hour
ABOVE = 1.25  # above the plan by more than this factor...
MIN_ARRIVALS = 4  # ...with at least this many arrivals in the window
WEEKS = 4

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_ARRIVED = (
    sa_select(_TICKET.c.service_seq_key, func.count())
    .where(
        _TICKET.c.branch == bindparam("branch"),
        _TICKET.c.business_day == bindparam("day"),
        _TICKET.c.service_seq_key.in_(bindparam("services", expanding=True)),
        _TICKET.c.enqueued_at >= bindparam("since"),
        _TICKET.c.enqueued_at <= bindparam("now"),
    )
    .group_by(_TICKET.c.service_seq_key)
)

# (database, branch, day) -> the day's plan (learned once a day and process)
_PLANS: dict[tuple[str, str, Any], Plan] = {}


def todays_plan(session: Session, branch: BranchSettings, day: date) -> Plan:
    """The plan of business day `day` (its own weekday's)."""
    key = (session.get_bind().engine.url.render_as_string(), branch.code, day)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 32:
            _PLANS.clear()
        plan = _PLANS[key] = plan_on(session, branch, None, WEEKS, day)
    return plan


@dataclass(frozen=True)
class ServiceAdvice:
    code: str
    arrived: int  # in the last WINDOW
    planned_per_hour: float
    open_counters: int
    needed: int

    @property
    def per_hour(self) -> float:
        return self.arrived * timedelta(hours=1) / WINDOW

    @property
    def above_plan(self) -> bool:
        return self.arrived >= MIN_ARRIVALS and self.per_hour > ABOVE * self.planned_per_hour

    @property
    def open_more(self) -> int:
        return max(0, self.needed - self.open_counters)


def advise(session: Session, branch: BranchSettings, now: datetime) -> AdviceOut:
    """GET /plan/advice's use-case: the day's context worked out once, at `now`."""
    today = Today.of(branch, now)
    plan = todays_plan(session, branch, today.day)
    local = today.local
    slot = (local.hour * 60 + local.minute) // SLOT_MIN
    first = max(0, slot - int(WINDOW / timedelta(minutes=SLOT_MIN)) + 1)
    codes = [s.code for s in branch.services]
    rows = connection_of(session).execute(
        _ARRIVED,
        {
            "branch": branch.code,
            "day": today.day,
            "services": codes,
            "since": now - WINDOW,
            "now": now,
        },
    )
    arrived = {str(code): int(n) for code, n in rows}
    open_serving = {code: 0 for code in codes}
    for counter in session.exec(select(Counter).where(Counter.branch == branch.code)):
        if counter.state == CounterState.open:
            for code in counter.services or []:
                if code in open_serving:
                    open_serving[code] += 1
    advice = []
    for s in branch.services:
        demand = plan.demand.services[s.code]
        window = demand.rates[first : slot + 1] or [0.0]
        planned = sum(window) / len(window)
        rate = max(arrived.get(s.code, 0) * timedelta(hours=1) / WINDOW, demand.rates[slot])
        needed = erlang.counters_needed(rate, 3600 / demand.mean_s, demand.target_s / 3600, SHARE)
        advice.append(
            ServiceAdvice(s.code, arrived.get(s.code, 0), planned, open_serving[s.code], needed)
        )
    return AdviceOut(
        now=now.isoformat(),
        weekday=plan.demand.weekday,
        weeks=len(plan.demand.days),
        services=[
            ServiceAdviceOut(
                service=a.code,
                arrived_last_hour=a.arrived,
                per_hour=round(a.per_hour, 1),
                planned_per_hour=round(a.planned_per_hour, 1),
                above_plan=a.above_plan,
                open_counters=a.open_counters,
                needed=a.needed,
                open_more=a.open_more,
            )
            for a in advice
        ],
        messages=_messages(branch, advice),
    )


def _messages(branch: BranchSettings, advice: list[ServiceAdvice]) -> list[AdviceMessage]:
    out = []
    for a in advice:
        service = branch.service(a.code)
        zh = service.name.zh if service else a.code
        en = service.name.en if service else a.code
        if a.above_plan:
            out.append(
                AdviceMessage(
                    kind="above_plan",
                    service=a.code,
                    zh=f"{a.code} {zh}：近一小时到达 {a.arrived} 位，高于计划"
                    f"（约 {a.planned_per_hour:.0f} 位/小时）",
                    en=f"{en}: {a.arrived} arrived in the last hour, above the plan "
                    f"(about {a.planned_per_hour:.0f} an hour)",
                )
            )
        if a.open_more:
            out.append(
                AdviceMessage(
                    kind="open_more",
                    service=a.code,
                    zh=f"{a.code} {zh}：请再开 {a.open_more} 个窗口办理此业务"
                    f"（现有 {a.open_counters} 个，需要 {a.needed} 个）",
                    en=f"{en}: open {a.open_more} more counter"
                    f"{'s' if a.open_more > 1 else ''} for it now "
                    f"({a.open_counters} open, {a.needed} needed)",
                )
            )
    return out
