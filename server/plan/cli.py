"""`lobbyq simulate --model mmc` and `lobbyq plan`."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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


def plan_table(plan: dict[str, Any]) -> list[str]:
    """The plan as the terminal shows it."""
    codes = list(plan["services"])
    out = [
        f"staffing plan for branch {plan['branch']}, {plan['weekday']}, learned from "
        f"{plan['weeks']} day(s): {', '.join(plan['days']) or 'none'}",
        "",
        "slot         | arrivals/h "
        + " ".join(f"{c:>5}" for c in codes)
        + " | Erlang C "
        + " ".join(f"{c:>3}" for c in codes)
        + " | open | rota (counter: services)",
    ]
    for row in plan["slots"]:
        rates = " ".join(f"{row['arrivals_per_hour'].get(c, 0):5.1f}" for c in codes)
        first = " ".join(f"{row['erlang_c'].get(c, 0):3d}" for c in codes)
        rota = "  ".join(f"{n}:{'/'.join(s)}" for n, s in row["rota"].items())
        out.append(
            f"{row['slot']} |            {rates} |          {first} | {row['counters']:4d} | {rota}"
        )
    out += ["", "predicted (a week played)   " + " ".join(f"{c:>7}" for c in codes)]
    for key, label in (("current", "current rota"), ("suggested", "suggested rota")):
        figures = plan[key]
        within = " ".join(f"{figures['within_target_pct'].get(c, 0):6.1f}%" for c in codes)
        out.append(
            f"  {label:<16} within target {within}  ({figures['counter_hours']} counter-hours)"
        )
        late = [
            f"{p['priority']} {p['service']} p90 {p['wait_p90_s'] / 60:.1f} min "
            f"> {p['target_s'] / 60:.0f}"
            for p in figures["priority_p90"]
            if p["wait_p90_s"] > p["target_s"] and p["customers"] >= 5
        ]
        out.append(f"  {'':<16} priority classes over target: {', '.join(late) or 'none'}")
    return out


def register(app: typer.Typer, read_config: Callable[..., Any]) -> None:
    @app.command()
    def plan(
        branch: Annotated[str | None, typer.Option("--branch", "-b", help="branch code")] = None,
        weekday: Annotated[str, typer.Option(help="mon ... sun")] = "mon",
        weeks: Annotated[int, typer.Option(min=1, max=26, help="weeks of history")] = 4,
        config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config")] = None,
        day: Annotated[
            str | None, typer.Option("--date", help="plan as of this day (default: today)")
        ] = None,
    ) -> None:
        """Staffing plan: counters per 30-minute slot and the services each should
        take so that 80 % of each service's customers wait within its target, learned
        from the last weeks of the event log (docs/statistics.md)."""
        from datetime import datetime, time

        from server.dashboard.cli import _branch, _date
        from server.db import Database, migrate
        from server.errors import LobbyQError
        from server.models import now_utc
        from server.plan.planner import make_plan

        settings = read_config(config)
        chosen = _branch(settings, branch)
        db = Database(settings.server.database_url)
        try:
            migrate(db.url)
            with db.read() as session:
                now = (
                    datetime.combine(_date(day, chosen), time(12), tzinfo=chosen.zone)
                    if day
                    else now_utc()
                )
                result = make_plan(session, chosen, weekday, weeks, now).as_json()
        except LobbyQError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(2) from exc
        finally:
            db.dispose()
        for line in plan_table(result):
            typer.echo(line)
