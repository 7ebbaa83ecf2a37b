"""Many branches and many days: the real simulator day by day, or the bulk copy of
template days (bulk.py). Both follow one seed schedule, so a (branch, day) gets the
same simulated day either way and the same statistics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import date, timedelta

from server.config import AppConfig, BranchSettings
from server.dashboard.bulk import Filler
from server.dashboard.simulator import DayPlan, simulate_day
from server.db import Database
from server.models import now_utc
from server.stats import facts


def seed_of(seed: int, branch_index: int, day_index: int, distinct_days: int) -> int:
    """The seed of one (branch, day). With `distinct_days` = K > 0 the seeds cycle
    over K values (shifted per branch), so the bulk path needs only K templates."""
    if distinct_days <= 0:
        return seed + branch_index * 100_003 + day_index
    return seed + (branch_index * 7 + day_index) % distinct_days


def _open_days(branch: BranchSettings, first: date, last: date) -> list[date]:
    days = []
    day = first
    while day <= last:
        if branch.hours is None or branch.hours.span_for(day) is not None:
            days.append(day)
        day += timedelta(days=1)
    return days


def fill_days(
    config: AppConfig,
    db: Database,
    *,
    branches: Sequence[BranchSettings],
    first: date,
    last: date,
    seed: int = 1,
    volume: float = 1.0,
    bulk: bool = False,
    distinct_days: int = 0,
    echo: Callable[[str], None] = lambda _: None,
    filler: Filler | None = None,
    defer_indexes: bool | None = None,
    workers: int = 1,
) -> list[str]:
    """Fill every open day of every branch; returns the summary lines. One day alone
    keeps the real simulator's own report (estimate accuracy)."""
    plan = DayPlan(seed=seed, volume=volume)
    started = time.monotonic()
    if len(branches) == 1 and first == last and not bulk:
        result = simulate_day(
            branch=branches[0], write=db.write, read=db.read, day=first, plan=plan
        )
        with db.write() as session:
            facts.reseal(session, branches[0], first, now_utc())
        return result.lines()
    if bulk and filler is None:
        filler = Filler(config=config, db=db)
    tickets = 0
    schedule = [_open_days(branch, first, last) for branch in branches]
    deferring = (
        filler.indexes_deferred(
            [b.code for b in branches], sum(len(d) for d in schedule), defer_indexes
        )
        if filler is not None
        else nullcontext(False)
    )
    work = [
        (
            branch,
            [
                (day, replace(plan, seed=seed_of(seed, b_index, d_index, distinct_days)))
                for d_index, day in enumerate(schedule[b_index])
            ],
        )
        for b_index, branch in enumerate(branches)
    ]
    days = sum(len(plans) for _, plans in work)
    lengths = {branch.code: len(plans) for branch, plans in work}
    done = 0

    def report(branch: BranchSettings, so_far: int) -> None:
        nonlocal done
        done += lengths[branch.code]
        spent = time.monotonic() - started
        echo(f"{branch.code}: done ({done} days, {so_far} tickets so far, {spent:.0f} s)")

    try:
        with deferring as deferred:
            if filler is not None:
                tickets = filler.fill_many(work, now_utc, workers=workers, done=report)
            else:
                for branch, plans in work:
                    for day, chosen in plans:
                        result = simulate_day(
                            branch=branch, write=db.write, read=db.read, day=day, plan=chosen
                        )
                        tickets += result.issued
                        with db.write() as session:
                            facts.reseal(session, branch, day, now_utc())
                    report(branch, tickets)
    finally:
        if filler is not None:
            filler.close()
    elapsed = time.monotonic() - started
    mode = "bulk copies of template days" if bulk else "the real use-cases"
    lines = [
        f"filled {days} branch-days ({len(branches)} branches, {first} .. {last}) with "
        f"{tickets} tickets through {mode} in {elapsed:.1f} s "
        f"({days / elapsed if elapsed else 0:.1f} days/s)"
    ]
    if filler is not None:
        lines.append(
            f"  templates (real simulator): {filler.template_s:.1f} s; "
            + (f"indexes dropped and made again: {filler.index_s:.1f} s; " if deferred else "")
            + f"copies: {filler.copy_s:.1f} s ({days / filler.copy_s if filler.copy_s else 0:.1f} "
            "days/s)"
        )
    return lines
