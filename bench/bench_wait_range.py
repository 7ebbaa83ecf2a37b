"""How honest the promised wait is: the range `estimated_wait_range_s` and the point
`estimated_wait_s` given at issue, against the wait that followed, on simulated days
(server/dashboard/simulator.py: the real use-cases) of four branch shapes: the demo
branch (config.example.toml) and the three of bench/fixtures (a small branch with 2
counters, a telecom hall with 12 counters and 6 services, a corporate branch with long
services); each day with no history (empty database) and after a week of history (5
earlier simulated days in the same database).

    flock /tmp/lobbyq-bench.lock .venv/bin/python bench/bench_wait_range.py \
        [--shapes demo,small2,telecom12,corporate] [--seeds 1-6] [--jobs 2]

Figures per shape and history, over the called tickets of all the seeds' days
(docs/statistics.md, "The range"):
- inside: % of called tickets whose actual wait lies in [low, high] (aim 80 ± 5);
- width p50 vs wait p50: the median range width and the median actual wait (aim <=);
- MAE %: the point estimate's median |estimate - actual| as % of the median wait (<= 25);
- worst bias: over each service and each priority class with >= 20 called tickets, the
  largest |median(estimate - actual)| as % of that class's median wait (<= 15), and
  which class it is.
`--dump FILE` writes one JSON row per called ticket (for analysis)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402

from server.app import prepare_database  # noqa: E402
from server.config import AppConfig, BranchSettings, load_config  # noqa: E402
from server.dashboard.simulator import DayPlan, simulate_day  # noqa: E402
from server.db import Database  # noqa: E402
from server.models import TicketEvent  # noqa: E402
from server.queue import wait_range  # noqa: E402
from server.stats.compute import DateRange, load_facts, percentile  # noqa: E402

DAY = date(2026, 6, 1)  # a Monday
HISTORY_SEEDS = (101, 102, 103, 104, 105)  # 2026-05-27 ... 05-31


@dataclass(frozen=True)
class Shape:
    config: str  # relative to the repository
    volume: float
    mix: dict[str, float] | None


SHAPES = {
    "demo": Shape("config.example.toml", 1.0, None),
    "small2": Shape("bench/fixtures/small2.toml", 0.3, {"A": 0.5, "B": 0.4, "D": 0.1}),
    "telecom12": Shape(
        "bench/fixtures/telecom12.toml",
        1.6,
        {"P": 0.35, "K": 0.15, "C": 0.2, "R": 0.1, "B": 0.1, "G": 0.1},
    ),
    "corporate": Shape("bench/fixtures/corporate.toml", 0.18, {"S": 0.5, "O": 0.25, "L": 0.25}),
}


def config_at(shape: Shape, folder: Path, name: str) -> Path:
    text = (ROOT / shape.config).read_text(encoding="utf-8")
    text = re.sub(r"sqlite:///data/\w+\.db", f"sqlite:///{folder / name}.db", text)
    text = text.replace('data_dir = "data"', f'data_dir = "{folder / "data"}"')
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def simulate(config: AppConfig, day: date, seed: int, shape: Shape) -> None:
    db = Database(config.server.database_url)
    try:
        prepare_database(config, db)
        plan = DayPlan(seed=seed, volume=shape.volume, mix=shape.mix)
        simulate_day(branch=config.branches[0], write=db.write, read=db.read, day=day, plan=plan)
    finally:
        db.dispose()


def history_db(name: str, folder: Path) -> Path:
    """The shape's week of history, simulated once per folder (kept for a rerun)."""
    shape = SHAPES[name]
    done = folder / f"{name}-history.done"
    if done.exists():
        return folder / f"{name}-history.db"
    (folder / f"{name}-history.db").unlink(missing_ok=True)
    config = load_config(config_at(shape, folder, f"{name}-history"))
    for k, seed in enumerate(HISTORY_SEEDS):
        simulate(config, DAY - timedelta(days=len(HISTORY_SEEDS) - k), seed, shape)
    done.touch()
    return folder / f"{name}-history.db"


def rows_of(
    config: AppConfig, branch: BranchSettings, first: date = DAY, days: int = 1
) -> list[dict[str, Any]]:
    db = Database(config.server.database_url)
    try:
        begin = datetime.combine(first, time(0), tzinfo=branch.zone)
        with db.read() as session:
            facts = load_facts(session, branch, DateRange(begin, begin + timedelta(days=days)))
            issued = session.exec(
                select(TicketEvent.ticket_id, TicketEvent.data).where(
                    TicketEvent.branch == branch.code,
                    TicketEvent.type == "ticket.issued",
                    col(TicketEvent.at) >= begin,
                )
            ).all()
    finally:
        db.dispose()
    data = {ticket_id: d or {} for ticket_id, d in issued}
    rows = []
    for f in facts:
        wait = f.wait_s
        if wait is None or f.estimated_wait_s is None or f.enqueued_at is None:
            continue
        extra = data.get(f.ticket_id, {})
        rows.append(
            {
                "service": f.issue_service,
                "priority": f.priority,
                "estimate": f.estimated_wait_s,
                "raw": extra.get("estimate_raw_s", f.estimated_wait_s),
                "range": extra.get("estimated_wait_range_s"),
                "ahead": extra.get("position"),
                "wait": wait,
                "at": f.enqueued_at.isoformat(),
            }
        )
    return rows


def run_day(job: tuple[str, str, int, str, str | None]) -> dict[str, Any]:
    name, history, seed, folder_text, base = job
    folder = Path(folder_text)
    shape = SHAPES[name]
    label = f"{name}-{history}-{seed}"
    kept = folder / f"{label}.json"  # a day already simulated in this folder
    if kept.exists():
        loaded: dict[str, Any] = json.loads(kept.read_text(encoding="utf-8"))
        return loaded
    path = config_at(shape, folder, label)
    if base is not None:
        shutil.copy(base, folder / f"{label}.db")
    config = load_config(path)
    simulate(config, DAY, seed, shape)
    rows = rows_of(config, config.branches[0])
    (folder / f"{label}.db").unlink(missing_ok=True)
    day = {"shape": name, "history": history, "seed": seed, "rows": rows}
    kept.write_text(json.dumps(day), encoding="utf-8")
    return day


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    waits = [r["wait"] for r in rows]
    p50 = percentile(waits, 50) or 0.0
    ranged = [r for r in rows if r["range"]]
    inside = sum(1 for r in ranged if r["range"][0] <= r["wait"] <= r["range"][1])
    widths = [r["range"][1] - r["range"][0] for r in ranged]
    errors = [abs(r["estimate"] - r["wait"]) for r in rows]
    worst = (0.0, "")
    for key in ("service", "priority"):
        for value in sorted({r[key] for r in rows}):
            group = [r for r in rows if r[key] == value]
            if len(group) < 20:
                continue
            group_p50 = percentile([r["wait"] for r in group], 50) or 0.0
            signed = sorted(r["estimate"] - r["wait"] for r in group)
            middle = signed[len(signed) // 2]
            bias = 100 * middle / max(group_p50, 60.0)
            if abs(bias) > abs(worst[0]):
                worst = (bias, f"{key} {value}")
    return {
        "called": len(rows),
        "inside_pct": 100 * inside / len(ranged) if ranged else None,
        "width_p50": percentile(widths, 50) if widths else None,
        "wait_p50": p50,
        "mae_pct": 100 * (percentile(errors, 50) or 0.0) / p50 if p50 else None,
        "worst_bias_pct": worst[0],
        "worst_class": worst[1],
    }


def replay(days: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """The promises as wait_range makes them, recomputed from each ticket's raw
    estimate and the record known at its issue (the history days' tickets and the
    day's tickets called by then, refreshed every REFRESH_S), for days simulated
    before the calibration changed (the range does not change the queue)."""
    history: dict[str, list[dict[str, Any]]] = {}
    out = []
    for day in days:
        name = day["shape"]
        past: list[dict[str, Any]] = []
        if day["history"] == "week":
            if name not in history:
                config = load_config(config_at(SHAPES[name], folder, f"{name}-history"))
                first = DAY - timedelta(days=len(HISTORY_SEEDS))
                history[name] = rows_of(config, config.branches[0], first, len(HISTORY_SEEDS))
            past = history[name]
        rows = sorted(day["rows"], key=lambda r: r["at"])
        called = sorted(
            (datetime.fromisoformat(r["at"]) + timedelta(seconds=r["wait"]), r)
            for r in [*past, *rows]
        )
        calibration, read_at = None, None
        replayed = []
        for r in rows:
            now = datetime.fromisoformat(r["at"])
            if read_at is None or (now - read_at).total_seconds() >= wait_range.REFRESH_S:
                known = [x for at, x in called if at <= now][-wait_range.HISTORY_ROWS :]
                calibration = wait_range.calibrate(
                    wait_range.Observed(float(x["raw"]), x["wait"], x["service"], x["priority"])
                    for x in known
                )
                read_at = now
            assert calibration is not None
            promise = calibration.apply(float(r["raw"]), r["service"], r["priority"])
            replayed.append({**r, "estimate": promise.point, "range": list(promise.pair)})
        out.append({**day, "rows": replayed})
    return out


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="demo,small2,telecom12,corporate")
    parser.add_argument("--seeds", default="1-6")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--folder", default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--dump", default=None)
    parser.add_argument(
        "--replay", default=None, help="a --dump of earlier days: recompute the promises"
    )
    args = parser.parse_args()
    if args.replay:
        days = json.loads(Path(args.replay).read_text(encoding="utf-8"))
        names = [n for n in args.shapes.split(",") if any(d["shape"] == n for d in days)]
        print_table(replay(days, Path(args.folder)), names)
        return
    names = args.shapes.split(",")
    seeds = seeds_of(args.seeds)
    folder = Path(args.folder or tempfile.mkdtemp(prefix="lobbyq-range-"))
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        bases = dict(zip(names, pool.map(history_db, names, [folder] * len(names)), strict=True))
        jobs = [
            (name, history, seed, str(folder), str(bases[name]) if history == "week" else None)
            for name in names
            for history in ("none", "week")
            for seed in seeds
        ]
        days = list(pool.map(run_day, jobs))
    if args.dump:
        Path(args.dump).write_text(json.dumps(days), encoding="utf-8")
    print_table(days, names)


def print_table(days: list[dict[str, Any]], names: list[str]) -> None:
    print(
        "| shape | history | days | called | inside range % | width p50 s | wait p50 s "
        "| point MAE % of p50 | worst class bias % |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        for history in ("none", "week"):
            chosen = [d for d in days if d["shape"] == name and d["history"] == history]
            rows = [r for d in chosen for r in d["rows"]]
            if not rows:
                continue
            f = figures(rows)
            per_day = [figures(d["rows"])["inside_pct"] for d in chosen]
            spread = (
                f" ({min(per_day):.0f}–{max(per_day):.0f})"
                if all(p is not None for p in per_day)
                else ""
            )
            inside = f"{f['inside_pct']:.1f}{spread}" if f["inside_pct"] is not None else "–"
            width = f"{f['width_p50']:.0f}" if f["width_p50"] is not None else "–"
            print(
                f"| {name} | {history} | {len(chosen)} | {f['called']} | {inside} | {width} "
                f"| {f['wait_p50']:.0f} | {f['mae_pct']:.1f} "
                f"| {f['worst_bias_pct']:+.1f} ({f['worst_class']}) |"
            )


if __name__ == "__main__":
    main()
