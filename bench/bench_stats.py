"""Statistics at scale on PostgreSQL: the data generator's speed, a year's report of
one branch, the overview of many branches, the dashboard's summary of a month; each
next to the log path it replaces and to floors measured in the same run.

    .venv/bin/python bench/bench_stats.py --database-url postgresql+psycopg://postgres@127.0.0.1:54329/postgres \\
        [--branches 200] [--days 365] [--repeat 5]

It creates a fresh database (dropped at the end unless --keep), a config of
`--branches` copies of the demo branch (config.example.toml: 5 services, 8 counters),
and fills with `lobbyq simulate --bulk`'s path (server/dashboard/fill.py):
one branch for `--days` days up to the day before yesterday (sealed), and every
branch for today (the overview's day). Then, median of --repeat runs each:

- report of one branch for the whole range (group_by service): GET /stats' path (tallied
  in SQL), the fact rows folded in Python (the path before), and the log path;
- the dashboard summary (three groupings + histogram) for the last 30 days, both paths;
- the overview of every branch (`GET /overview`'s use-case);
- floors: `SELECT 1` (a round trip) and a bare fetch of the year's fact rows.

Each figure is the median wall time and, beside it, the median CPU time of this process
plus the Postgres backend serving it (read from /proc: a local server), which a loaded
machine does not inflate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_config(url: str, branches: int, data_dir: Path) -> Any:
    from server.config import parse_config

    demo = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    template = demo["branches"][0]
    made = []
    for i in range(branches):
        branch = dict(template)
        branch["code"] = f"h{i + 1:03d}"
        branch["name"] = {"zh": f"第{i + 1}支行", "en": f"Branch {i + 1}"}
        branch["kiosks"] = [{"id": "k1", "token": f"bench-kiosk-{i:04d}"}]
        branch["displays"] = [{"id": "tv1", "token": f"bench-display-{i:04d}"}]
        branch.pop("printers", None)
        branch.pop("counter_devices", None)  # device tokens are unique across branches
        made.append(branch)
    demo["branches"] = made
    demo["server"] = {**demo.get("server", {}), "database_url": url, "data_dir": str(data_dir)}
    demo["users"] = [u for u in demo.get("users", []) if u.get("role") != "teller"]
    return parse_config(demo, source="<bench>")


@dataclass
class Timing:
    wall_ms: float  # median
    cpu_ms: float  # median: this process plus the Postgres backend that served it
    result: Any

    def shown(self) -> str:
        return f"{self.wall_ms:.0f} ms (CPU {self.cpu_ms:.0f} ms)"


def _backend_cpu_s(pid: int) -> float:
    """User + system CPU of a local Postgres backend (/proc; 0 if it is not local)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(db: Any, work: Callable[[Any], Any], repeat: int) -> Timing:
    """Median wall and CPU time of `work(session)`; CPU is what a loaded machine does
    not inflate (wall time there is mostly waiting for a core)."""
    import sqlalchemy

    walls, cpus, result = [], [], None
    for _ in range(repeat):
        with db.read() as session:
            pid = session.execute(sqlalchemy.text("SELECT pg_backend_pid()")).scalar()
            backend, cpu = _backend_cpu_s(pid), time.process_time()
            started = time.perf_counter()
            result = work(session)
            walls.append((time.perf_counter() - started) * 1000)
            spent = time.process_time() - cpu + _backend_cpu_s(pid) - backend
            cpus.append(spent * 1000)
    return Timing(statistics.median(walls), statistics.median(cpus), result)


def fill_arguments(description: str | None, *, branches: int, days: int) -> argparse.ArgumentParser:
    """The options of a bench that fills a fresh database (this one, bench_fill.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url", required=True, help="a Postgres server's admin URL")
    parser.add_argument("--branches", type=int, default=branches)
    parser.add_argument("--days", type=int, default=days)
    parser.add_argument("--distinct-days", type=int, default=7)
    return parser


def main() -> None:
    parser = fill_arguments(__doc__, branches=200, days=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the filled database")
    parser.add_argument(
        "--reuse",
        default="",
        help="measure on a database kept by an earlier --keep run (its name), without filling",
    )
    parser.add_argument(
        "--no-log-path",
        action="store_true",
        help="skip the log path's rows (a year's fold takes minutes on a loaded machine)",
    )
    args = parser.parse_args()

    import sqlalchemy

    from server.app import prepare_database
    from server.dashboard.fill import fill_days
    from server.dashboard.summary import dashboard_summary
    from server.db import Database
    from server.hq.overview import overview
    from server.stats.aggregate import fast_report
    from server.stats.compute import DateRange, build_report, log_facts
    from server.stats.facts import facts_in, local_midnight, read_facts

    name = args.reuse or f"lobbyq_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = args.database_url.rsplit("/", 1)[0] + f"/{name}"
    data_dir = Path("/tmp") / name
    config = make_config(url, args.branches, data_dir)
    db = Database(url)
    rows: list[tuple[str, str]] = []
    try:
        prepare_database(config, db)
        now = datetime.now(UTC)
        one = config.branches[0]
        today = now.astimezone(one.zone).date()
        last = today - timedelta(days=2)
        first = last - timedelta(days=args.days - 1)

        def fill(branches: Any, start: Any, end: Any) -> float:
            started = time.perf_counter()
            for line in fill_days(
                config,
                db,
                branches=branches,
                first=start,
                last=end,
                seed=1,
                bulk=True,
                distinct_days=args.distinct_days,
            ):
                rows.append(("", line.strip()))
            return time.perf_counter() - started

        if args.reuse:
            rows.append(("database", f"{name}, filled by an earlier --keep run"))
        else:
            year_s = fill([one], first, last)
            with db.read() as session:
                tickets = session.execute(sqlalchemy.text("SELECT count(*) FROM ticket")).scalar()
                events = session.execute(
                    sqlalchemy.text("SELECT count(*) FROM ticketevent")
                ).scalar()
            days = args.days
            rows.append(
                (
                    "bulk fill, one branch",
                    f"{days} days, {tickets} tickets, {events} events "
                    f"in {year_s:.1f} s ({days / year_s:.1f} branch-days/s)",
                )
            )
            today_s = fill(config.branches, today, today)
            rows.append(
                (
                    "bulk fill, every branch today",
                    f"{args.branches} branch-days in "
                    f"{today_s:.1f} s ({args.branches / today_s:.1f} branch-days/s)",
                )
            )
            rate = (days + args.branches) / (year_s + today_s)
            rows.append(
                ("=> a year of 200 branches", f"{200 * 365 / rate / 60:.0f} min at that rate")
            )
            started = time.perf_counter()
            spare = config.branches[1]
            try:
                fill_days(config, db, branches=[spare], first=first, last=first, seed=1)
                took = f"{time.perf_counter() - started:.1f} s"
            except Exception as exc:  # the filled database is still worth measuring
                took = f"failed after {time.perf_counter() - started:.1f} s: {exc!r}"
            rows.append(("real use-cases, one day", took))
            print_rows(rows)  # the fill's figures, whatever comes next

        year = DateRange(
            local_midnight(first, one.zone), local_midnight(last + timedelta(days=1), one.zone)
        )
        month = DateRange(
            local_midnight(today - timedelta(days=29), one.zone),
            local_midnight(today + timedelta(days=1), one.zone),
        )

        floor = timed(db, lambda s: s.execute(sqlalchemy.text("SELECT 1")).scalar(), 20)
        fetch = timed(db, lambda s: read_facts(s, one.code, year.start, year.end), args.repeat)

        def report(load: Callable[..., Any], span: Any) -> Callable[[Any], Any]:
            return lambda s: build_report(
                load(s, one, span), branch=one, group_by="service", span=span
            )

        year_fast = timed(
            db, lambda s: fast_report(s, branch=one, group_by="service", span=year), args.repeat
        )
        year_python = timed(db, report(facts_in, year), 1)
        month_fast = timed(
            db, lambda s: dashboard_summary(s, branch=one, span=month, now=now), args.repeat
        )
        over = timed(db, lambda s: overview(s, branches=config.branches, now=now), args.repeat * 2)
        rows += [
            ("floor: SELECT 1", f"{floor.wall_ms:.2f} ms"),
            (f"floor: fetch the year's {len(fetch.result)} fact rows", fetch.shown()),
            ("report of a year, one branch (target 1000 ms)", year_fast.shown()),
            ("... the same, fact rows folded in Python (before)", year_python.shown()),
            ("dashboard summary of 30 days (target 300 ms)", month_fast.shown()),
            (f"overview of {len(over.result)} branches (target 500 ms)", over.shown()),
        ]
        if not args.no_log_path:
            rows.insert(
                -2,
                ("... the year's report, log path", timed(db, report(log_facts, year), 1).shown()),
            )
            rows.insert(
                -1,
                (
                    "... the month, log path (one grouping)",
                    timed(db, report(log_facts, month), 1).shown(),
                ),
            )
    finally:
        db.dispose()
        if not args.keep and not args.reuse:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    print_rows(rows)


def print_rows(rows: list[tuple[str, str]]) -> None:
    print("| measure | result |\n|---|---|", flush=True)
    for label, value in rows:
        print(f"| {label} | {value} |", flush=True)


if __name__ == "__main__":
    main()
