"""The staffing plan's cost (issue 16 item 5: a plan for 4 weeks of history in <= 2 s):
`make_plan` (GET /plan's use-case: the demand learned from the event log, Erlang C's
first cut, the played weeks) on the demo branch (config.example.toml) with 4 weeks of
history, on a SQLite file, next to its parts and a floor measured in the same run.

    flock /tmp/lobbyq-bench.lock .venv/bin/python bench/bench_plan.py [--weeks 4] [--repeat 5]

The history is `lobbyq simulate --bulk`'s path (server/dashboard/fill.py): the last
`--weeks` weeks before the planned day, one real simulated day per weekday (`--distinct`
templates), copied to each date. Printed (median of --repeat runs each, wall and CPU):
- learn_demand: reading the weekday's days from the event log;
- plan_for: Erlang C and the played weeks (no database);
- make_plan: both, as GET /plan runs it;
- floor: `SELECT 1` on the same session.

`--check-days N` (issue 16 item 3) then runs N days through the real simulator
(server/plan/check.py) with the suggested rota, on a fresh database, and prints each
service's share within target and p90, and the VIP and priority-assistance p90 per
service against the service's target (aim: >= 80 % everywhere, p90 <= target).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from server.app import prepare_database  # noqa: E402
from server.config import load_config  # noqa: E402
from server.dashboard.bulk import alone_on  # noqa: E402
from server.dashboard.fill import fill_days  # noqa: E402
from server.db import Database  # noqa: E402
from server.plan.check import branch_for, check_week, day_rota  # noqa: E402
from server.plan.demand import learn_demand  # noqa: E402
from server.plan.planner import make_plan, plan_for  # noqa: E402
from server.queue.calendar import business_day  # noqa: E402

PLANNED = datetime(2026, 6, 29, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def timed(repeat: int, run: Callable[[], Any]) -> tuple[float, float]:
    """Median wall and CPU milliseconds over `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(1000 * (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--distinct", type=int, default=7, help="real simulated template days")
    parser.add_argument("--check-days", type=int, default=0, help="the rota in the simulator")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lobbyq-plan-"))
    source = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    source = re.sub(r"sqlite:///data/\w+\.db", f"sqlite:///{folder / 'plan.db'}", source)
    source = source.replace('data_dir = "data"', f'data_dir = "{folder / "data"}"')
    (folder / "plan.toml").write_text(source, encoding="utf-8")
    config = load_config(folder / "plan.toml")
    branch = config.branches[0]
    db = Database(config.server.database_url)
    try:
        prepare_database(config, db)
        today = PLANNED.astimezone(branch.zone).date()
        started = time.perf_counter()
        fill_days(
            config,
            db,
            branches=[branch],
            first=today - timedelta(days=7 * args.weeks),
            last=today - timedelta(days=1),
            bulk=True,
            distinct_days=args.distinct,
        )
        fill_s = time.perf_counter() - started
        planned_on = business_day(branch, PLANNED)
        with db.read() as session:
            demand = learn_demand(session, branch, "mon", args.weeks, planned_on)
            arrivals = sum(sum(s.rates) / 2 for s in demand.services.values())
            print(
                f"demo branch, {args.weeks} weeks of history filled in {fill_s:.0f} s; "
                f"planning {demand.weekday}: {len(demand.days)} days, "
                f"~{arrivals:.0f} arrivals a day; median of {args.repeat}"
            )
            rows = [
                ("floor SELECT 1", lambda: session.exec(text("SELECT 1")).all()),  # type: ignore[call-overload]
                (
                    "learn_demand",
                    lambda: learn_demand(session, branch, "mon", args.weeks, planned_on),
                ),
                ("plan_for", lambda: plan_for(branch, demand)),
                ("make_plan", lambda: make_plan(session, branch, "mon", args.weeks, PLANNED)),
            ]
            print("| part | wall ms | CPU ms |")
            print("|---|---|---|")
            for name, run in rows:
                wall, cpu = timed(args.repeat, run)
                print(f"| {name} | {wall:.2f} | {cpu:.2f} |", flush=True)
            plan = make_plan(session, branch, "mon", args.weeks, PLANNED)
    finally:
        db.dispose()
    if args.check_days:
        check(config, plan, folder, today + timedelta(days=7), args.check_days)


def check(config: Any, plan: Any, folder: Path, first: date, days: int) -> None:
    rota = day_rota(plan)
    print(f"\nthe suggested rota as one day's rota ({rota.counter_hours():.1f} counter-hours):")
    for number, (services, opens, ends) in rota.counters.items():
        print(f"  counter {number}: {'/'.join(services)} {opens:%H:%M}-{ends:%H:%M}")
    checked = branch_for(config.branches[0], rota)
    url = f"sqlite:///{folder / 'check.db'}"
    config = alone_on(config, checked, url)
    db = Database(url)
    try:
        prepare_database(config, db)
        started = time.process_time()
        figures = check_week(
            checked,
            rota,
            write=db.write,
            read=db.read,
            days=[first + timedelta(days=k) for k in range(days)],
            seed=201,
            echo=print,
        )
        print(f"  ({time.process_time() - started:.0f} s CPU)")
    finally:
        db.dispose()
    print("| service | served | within target % | wait p90 s | target s |")
    print("|---|---|---|---|---|")
    for code, pct in figures.within_pct.items():
        print(
            f"| {code} | {figures.served[code]} | {pct:.1f} | {figures.wait_p90_s[code]:.0f} "
            f"| {figures.targets_s[code]:.0f} |"
        )
    print("| class | service | called | wait p90 s | target s |")
    print("|---|---|---|---|---|")
    for (klass, code), p90 in sorted(figures.class_p90_s.items()):
        count = figures.class_count[(klass, code)]
        print(f"| {klass} | {code} | {count} | {p90:.0f} | {figures.targets_s[code]:.0f} |")
    print(f"cancelled (gave up): {figures.cancelled}; misses: {figures.misses() or 'none'}")


if __name__ == "__main__":
    main()
