"""How fast `lobbyq simulate --bulk` fills PostgreSQL, where the time goes, and the
floors of the same run.

    nice -n 19 .venv/bin/python bench/bench_fill.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:54329/postgres \\
        --branches 20 --days 30 [--distinct-days 7] [--copy-days 3]

A fresh database (dropped at the end), `--branches` copies of the demo branch
(bench_stats.make_config), each filled for `--days` days ending the day before
yesterday (so every day is sealed) by `fill_days(bulk=True)`: `--distinct-days`
templates made by the real simulator (a fixed cost, whatever the volume), then
stamped by the server (server/dashboard/stamp.py). The parts:

- templates: the real use-cases, one simulated day each (`Filler.template_s`);
- staging: each template's rows into temporary tables;
- one line per table written by `INSERT … SELECT` (ticket ids and event numbers
  reserved first: "ids");
- the rest of the fill: the check that the days are free, the rollups, commits;
- `--copy-days`: that many more branch-days through `bulk.copy_day`, the path
  before (rows moved in Python, sent by COPY), for comparison.

Floors, same run, same database: the rows just written, read out with `COPY TO`,
then (a) `COPY FROM` into bare tables (no index, no constraint), (b) `INSERT …
SELECT` into bare tables, (c) building the real tables' indexes on those copies
(what dropping the indexes during a fill and making them after would cost).

The last rows extrapolate to a year of 200 branches (73,000 branch-days): the
templates plus 73,000 / the stamping rate. Index upkeep grows with the tables
(deeper B-trees, indexes that outgrow the cache), so a fill much smaller than a year
under-estimates it: rerun at 20 × 30 or more for a figure to quote.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TABLES = ("ticket", "ticketevent", "ticket_fact")
YEAR_OF_200 = 200 * 365


def floors(raw: Any, rows: dict[str, int]) -> list[tuple[str, float, int]]:
    """(label, seconds, rows) of the three floors, per table and in total."""
    measured: list[tuple[str, float, int]] = []
    totals = {"copy": 0.0, "insert": 0.0, "index": 0.0}
    with raw.cursor() as cursor:
        for table in TABLES:
            with tempfile.TemporaryFile() as spool:
                with cursor.copy(f'COPY "{table}" TO STDOUT') as out:
                    for chunk in out:
                        spool.write(chunk)
                spool.seek(0)
                cursor.execute(f'CREATE TEMP TABLE "floor_copy_{table}" (LIKE "{table}")')
                started = time.perf_counter()
                with cursor.copy(f'COPY "floor_copy_{table}" FROM STDIN') as into:
                    while chunk := spool.read(1 << 20):
                        into.write(chunk)
                raw.commit()
                took = time.perf_counter() - started
            measured.append((f"floor: COPY FROM into a bare {table}", took, rows[table]))
            totals["copy"] += took
            cursor.execute(f'CREATE TEMP TABLE "floor_insert_{table}" (LIKE "{table}")')
            started = time.perf_counter()
            cursor.execute(f'INSERT INTO "floor_insert_{table}" SELECT * FROM "{table}"')
            raw.commit()
            took = time.perf_counter() - started
            measured.append((f"floor: INSERT … SELECT into a bare {table}", took, rows[table]))
            totals["insert"] += took
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,))
            definitions = [d for (d,) in cursor.fetchall()]
            started = time.perf_counter()
            for n, definition in enumerate(definitions):
                _, rest = definition.split(" ON ", 1)
                target = rest.replace(f"public.{table} ", f'"floor_insert_{table}" ', 1)
                cursor.execute(f'CREATE INDEX "floor_ix_{table}_{n}" ON {target}')
            raw.commit()
            took = time.perf_counter() - started
            measured.append(
                (f"floor: build {table}'s {len(definitions)} indexes after", took, rows[table])
            )
            totals["index"] += took
    everything = sum(rows[t] for t in TABLES)
    measured += [
        ("floor: COPY FROM, every table", totals["copy"], everything),
        ("floor: INSERT … SELECT, every table", totals["insert"], everything),
        ("floor: build every index after", totals["index"], everything),
    ]
    return measured


def main() -> None:
    from bench.bench_stats import fill_arguments

    parser = fill_arguments(__doc__, branches=20, days=30)
    parser.add_argument("--volume", type=float, default=1.0)
    parser.add_argument(
        "--copy-days", type=int, default=2, help="branch-days through the path before"
    )
    parser.add_argument(
        "--defer-indexes",
        choices=("auto", "yes", "no"),
        default="auto",
        help="drop the secondary indexes for the fill (auto: from 1,000 branch-days)",
    )
    parser.add_argument("--workers", type=int, default=2, help="connections stamping side by side")
    args = parser.parse_args()

    import sqlalchemy

    from bench.bench_stats import make_config
    from server.app import prepare_database
    from server.dashboard.bulk import Filler
    from server.dashboard.fill import fill_days
    from server.dashboard.simulator import DayPlan
    from server.db import Database
    from server.models import now_utc

    load_before = os.getloadavg()
    name = f"lobbyq_fill_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = args.database_url.rsplit("/", 1)[0] + f"/{name}"
    config = make_config(url, args.branches + 1, Path("/tmp") / name)
    filled, spare = config.branches[:-1], config.branches[-1]
    db = Database(url)
    parts: list[tuple[str, float, int]] = []
    try:
        prepare_database(config, db)
        today = datetime.now(UTC).astimezone(filled[0].zone).date()
        last = today - timedelta(days=2)
        first = last - timedelta(days=args.days - 1)
        filler = Filler(config=config, db=db)
        cpu = time.process_time()
        started = time.perf_counter()
        lines = fill_days(
            config,
            db,
            branches=filled,
            first=first,
            last=last,
            seed=1,
            volume=args.volume,
            bulk=True,
            distinct_days=args.distinct_days,
            filler=filler,
            workers=args.workers,
            defer_indexes={"auto": None, "yes": True, "no": False}[args.defer_indexes],
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        with db.read() as session:
            rows = {
                t: int(
                    session.execute(sqlalchemy.text(f'SELECT count(*) FROM "{t}"')).scalar() or 0
                )
                for t in (*TABLES, "fact_day", "dailysequence")
            }
            size = int(
                session.execute(
                    sqlalchemy.text("SELECT pg_database_size(current_database())")
                ).scalar()
                or 0
            )
        branch_days = args.branches * args.days
        stamped_s = filler.copy_s - filler.stage_s
        spent = filler.stamper.spent
        summed = f" (summed over {args.workers} workers)" if args.workers > 1 else ""
        written = sum(rows[t] for t in TABLES)
        parts += [
            (f"templates: {args.distinct_days} days by the real simulator", filler.template_s, 0),
            ("staging the templates", filler.stage_s, 0),
            ("reserving ids and event numbers" + summed, spent.get("ids", 0.0), 0),
        ]
        parts += [(f"INSERT … SELECT {t}{summed}", spent.get(t, 0.0), rows[t]) for t in TABLES]
        parts.append(("INSERT … SELECT dailysequence" + summed, spent.get("dailysequence", 0.0), 0))
        if args.workers <= 1:
            parts.append(
                (
                    "the rest: free-day checks, rollups, commits",
                    stamped_s - sum(spent.values()),
                    rows["fact_day"],
                )
            )
        parts.append((f"stamping in all ({args.workers} workers, wall)", stamped_s, written))
        parts.append(("secondary indexes dropped, then made again", filler.index_s, written))
        if args.copy_days:
            old = Filler(config=config, db=db)
            plan = DayPlan(seed=1, volume=args.volume)
            old._templates = filler._templates  # the same templates: no simulation
            before = first - timedelta(days=args.copy_days)
            copied = 0
            for n in range(args.copy_days):
                copied += old.fill(spare, before + timedelta(days=n), plan, now_utc())
            per_day = old.copy_s / args.copy_days
            parts.append(
                (
                    f"the path before (bulk.copy_day), {args.copy_days} branch-days",
                    old.copy_s,
                    0,
                )
            )
        raw_connection = db.engine.raw_connection()
        try:
            raw = raw_connection.driver_connection
            parts += floors(raw, rows)
        finally:
            raw_connection.close()
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    load_after = os.getloadavg()
    print(
        f"# {args.branches} branches x {args.days} days = {branch_days} branch-days, "
        f"{rows['ticket']} tickets, {rows['ticketevent']} events, {rows['ticket_fact']} facts, "
        f"{rows['fact_day']} rollups, database {size / 2**20:,.0f} MiB; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    for line in lines:
        print(f"# {line.strip()}")
    print("\n| part | s | rows | rows/s |\n|---|---:|---:|---:|")
    for label, seconds, count in parts:
        rate = f"{count / seconds:,.0f}" if count and seconds else ""
        print(f"| {label} | {seconds:.2f} | {count or ''} | {rate} |")
    stamp_rate = branch_days / (stamped_s + filler.index_s)
    templates = filler.template_s
    year = templates + YEAR_OF_200 / stamp_rate
    print("\n| measure | result |\n|---|---|")
    print(f"| fill, wall | {wall:.1f} s (CPU of this process {cpu:.1f} s) |")
    print(
        f"| stamping{' + indexes after' if filler.index_s else ''} | {stamp_rate:.1f} "
        f"branch-days/s, {written / (stamped_s + filler.index_s):,.0f} rows/s |"
    )
    if args.copy_days:
        print(f"| the path before (copy_day) | {1 / per_day:.1f} branch-days/s |")
    copy_floor = next(p for p in parts if p[0] == "floor: COPY FROM, every table")
    print(
        f"| floor: COPY FROM into bare tables | {branch_days / copy_floor[1]:.1f} "
        f"branch-days/s, {copy_floor[2] / copy_floor[1]:,.0f} rows/s |"
    )
    print(
        f"| => a year of 200 branches ({YEAR_OF_200:,} branch-days) | {year / 60:.0f} min "
        f"({templates:.0f} s of templates + {YEAR_OF_200 / stamp_rate / 60:.0f} min of "
        "stamping; target 60 min) |"
    )


if __name__ == "__main__":
    main()
