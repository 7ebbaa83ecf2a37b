"""The suggested rota checked in the real simulator (server/plan/check.py): the day's
rota keeps every counter the plan opens in every slot, the plan's positions beyond the
branch become counters, and a simulated morning of the demo branch run with it keeps
every service within target and calls from the rota's counters only, in their hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from server.app import prepare_database
from server.config import load_config
from server.dashboard.bulk import alone_on
from server.dashboard.simulator import DayPlan, simulate_day
from server.db import Database
from server.plan.check import branch_for, counter_name, day_rota, figures_of
from server.plan.demand import SLOT_MIN
from server.plan.planner import plan_for
from server.stats.compute import DateRange, load_facts
from tests.plan.test_plan import demo_demand
from tests.support import drop_database, fresh_database_url

pytestmark = pytest.mark.own_database  # makes its own database: both passes

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 6, 8)


def test_the_day_rota_covers_every_slot_of_the_plan() -> None:
    branch = load_config(ROOT / "config.example.toml").branches[0]
    plan = plan_for(branch, demo_demand())
    rota = day_rota(plan)
    for slot, given in plan.rota.items():
        start = slot * SLOT_MIN
        for number, services in given.items():
            taken, opens, ends = rota.counters[counter_name(number)]
            assert set(services) <= set(taken)
            assert opens.hour * 60 + opens.minute <= start < ends.hour * 60 + ends.minute
    checked = branch_for(branch, rota)
    numbers = [c.number for c in checked.counters]
    assert numbers[:8] == [c.number for c in branch.counters]
    assert set(rota.counters) <= set(numbers)
    extra = [n for n in plan.rota[20] if n.startswith("+")]  # 10:00, the morning peak
    assert extra and all(counter_name(n) in numbers for n in extra)


def test_a_morning_with_the_suggested_rota_in_the_real_simulator(tmp_path: Path) -> None:
    demo = load_config(ROOT / "config.example.toml")
    plan = plan_for(demo.branches[0], demo_demand())
    rota = day_rota(plan)
    checked = branch_for(demo.branches[0], rota)
    url = fresh_database_url(tmp_path)
    config = alone_on(demo, checked, url)
    data_dir = {"data_dir": str(tmp_path / "data")}  # not the repository's data/
    config = config.model_copy(update={"server": config.server.model_copy(update=data_dir)})
    db = Database(url)
    try:
        prepare_database(config, db)
        result = simulate_day(
            branch=checked,
            write=db.write,
            read=db.read,
            day=DAY,
            plan=DayPlan(seed=7, closes=time(11, 0), rota=rota.hours),
        )
        assert result.served > 60
        with db.read() as session:
            figures = figures_of(session, checked, [DAY])
            begin = datetime.combine(DAY, time(0), tzinfo=checked.zone)
            facts = load_facts(session, checked, DateRange(begin, begin + timedelta(days=1)))
    finally:
        db.dispose()
        drop_database(url)
    assert set(figures.within_pct) == {"A", "B", "C", "D", "E"}
    assert min(figures.within_pct.values()) >= 80.0, figures.within_pct
    for f in facts:
        if f.first_call_at is None or f.counter is None:
            continue
        assert f.counter in rota.counters
        _, opens, ends = rota.counters[f.counter]
        local = f.first_call_at.astimezone(checked.zone).time()
        assert opens <= local <= ends, (f.counter, local)
