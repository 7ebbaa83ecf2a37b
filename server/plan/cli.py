"""`lobbyq simulate --model mmc` and `lobbyq plan`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from server.plan.mmc import MmcPlan, MmcResult, mmc_config, simulate_mmc


def mmc_run(plan: MmcPlan, folder: Path) -> MmcResult:
    """M/M/c days on a fresh SQLite file in `folder`."""
    from server.app import prepare_database
    from server.db import Database

    config = mmc_config(plan, folder)
    db = Database(config.server.database_url)
    try:
        prepare_database(config, db)
        return simulate_mmc(plan, branch=config.branches[0], write=db.write, read=db.read)
    finally:
        db.dispose()


def run_mmc(
    arrivals_per_hour: float,
    service_min: float,
    counters: int,
    days: int,
    seed: int,
    hours: float,
    warmup_hours: float,
) -> None:
    plan = MmcPlan(
        arrivals_per_hour=arrivals_per_hour,
        service_min=service_min,
        counters=counters,
        days=days,
        seed=seed,
        hours=hours,
        warmup_hours=min(warmup_hours, hours / 2),
    )
    if plan.load >= 1:
        typer.echo(f"load {plan.load:.2f} >= 1: the line grows without end", err=True)
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="lobbyq-mmc-") as folder:
        result = mmc_run(plan, Path(folder))
    for line in result.lines():
        typer.echo(line)
