"""The simulator against Erlang C: `lobbyq simulate --model mmc` (the real use-cases,
server/plan/mmc.py) for loads 0.5, 0.8, 0.9 with 1, 3 and 8 counters, its mean wait
next to Erlang C's, with the 95 % confidence interval from the days' spread.

    flock /tmp/lobbyq-bench.lock .venv/bin/python bench/bench_mmc.py \
        [--days 20] [--hours 12] [--warmup-hours 2] [--arrivals-per-hour 60] [--jobs 2]

The arrival rate is the same for every row (--arrivals-per-hour) and the service time
gives the load: S = load x counters x 60 / rate minutes, so every row has about the
same number of tickets (and costs about the same).

Beside each row, the bare queue (server/plan/mmc.py `queue_only`: the same days without
the database, --reference runs of them): the spread of a run's deviation from Erlang C
(sd, %) and its mean (the bias of days this short: the queue starts empty), the share
of runs within 5 %, and the tickets a run would need for its 95 %
interval to be ±5 % (tickets x (1.96 sd / 5)^2): how far a run of this size lands
from Erlang C by chance alone, whatever the queue rules."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.plan.cli import mmc_run  # noqa: E402
from server.plan.mmc import MmcPlan, MmcResult, queue_only  # noqa: E402

LOADS = (0.5, 0.8, 0.9)
COUNTERS = (1, 3, 8)


def one(plan: MmcPlan) -> MmcResult:
    with tempfile.TemporaryDirectory(prefix="lobbyq-mmc-", dir=_tmp()) as folder:
        return mmc_run(plan, Path(folder))


def _tmp() -> str | None:
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--hours", type=float, default=12.0)
    parser.add_argument("--warmup-hours", type=float, default=2.0)
    parser.add_argument("--arrivals-per-hour", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--counters", default="1,3,8")
    parser.add_argument("--loads", default="0.5,0.8,0.9")
    parser.add_argument("--reference", type=int, default=200, help="bare-queue runs per row")
    args = parser.parse_args()
    rate = args.arrivals_per_hour
    plans = [
        MmcPlan(
            arrivals_per_hour=rate,
            service_min=load * c * 60 / rate,
            counters=c,
            days=args.days,
            hours=args.hours,
            warmup_hours=args.warmup_hours,
            seed=c * 100 + round(load * 10),
        )
        for c in (int(x) for x in args.counters.split(","))
        for load in (float(x) for x in args.loads.split(","))
    ]
    print(
        "| counters | load | service min | tickets | mean wait s (95 % CI) | Erlang C s "
        "| deviation | Erlang C inside the CI | bare queue: mean deviation "
        "| sd of a run's deviation | runs within 5 % | tickets for ±5 % |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for r in pool.map(one, plans):
            row(r, args.reference)


def row(r: MmcResult, reference: int) -> None:
    p = r.plan
    expected = p.erlang_c_wait_s()
    inside = abs(r.mean_wait_s - expected) <= r.half_width_s
    rng = random.Random(p.seed)
    deviations = [queue_only(p, rng).deviation_pct for _ in range(reference)]
    sd = statistics.pstdev(deviations) if len(deviations) > 1 else float("nan")
    within = sum(abs(d) <= 5.0 for d in deviations) / len(deviations) if deviations else 0.0
    needed = r.tickets * (1.96 * sd / 5.0) ** 2
    bias = statistics.fmean(deviations) if deviations else float("nan")
    print(
        f"| {p.counters} | {p.load:.1f} | {p.service_min:.2f} | {r.tickets} "
        f"| {r.mean_wait_s:.1f} ± {r.half_width_s:.1f} | {expected:.1f} "
        f"| {r.deviation_pct:+.1f} % | {'yes' if inside else 'no'} "
        f"| {bias:+.1f} % | {sd:.1f} % | {100 * within:.0f} % | {needed:,.0f} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
