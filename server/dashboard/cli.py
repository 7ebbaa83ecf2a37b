"""`lobbyq simulate` (a realistic day through the real queue rules) and `lobbyq stats`
(the statistics report as a table in the terminal)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from server.config import AppConfig, BranchSettings

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config (default: $LOBBYQ_CONFIG, else the demo)"),
]
BranchOption = Annotated[str | None, typer.Option("--branch", "-b", help="branch code")]


def _branch(config: AppConfig, code: str | None) -> BranchSettings:
    if code is None:
        return config.branches[0]
    branch = config.branch(code)
    if branch is None:
        known = ", ".join(b.code for b in config.branches)
        typer.echo(f"no branch {code!r} (known: {known})", err=True)
        raise typer.Exit(2)
    return branch


def _date(value: str | None, branch: BranchSettings) -> date:
    if value is None:
        from server.models import now_utc

        return now_utc().astimezone(branch.zone).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        typer.echo(f"--date {value!r} is not a date YYYY-MM-DD", err=True)
        raise typer.Exit(2) from exc


def register(app: typer.Typer, read_config: Callable[..., Any]) -> None:
    @app.command()
    def simulate(
        branch: BranchOption = None,
        day: Annotated[
            str | None, typer.Option("--date", "-d", help="YYYY-MM-DD (default: today)")
        ] = None,
        seed: Annotated[int, typer.Option(help="random seed: same seed, same day")] = 1,
        volume: Annotated[
            float, typer.Option(min=0.05, max=5.0, help="arrivals scale (1.0: a normal day)")
        ] = 1.0,
        to: Annotated[
            str | None, typer.Option(help="fill every day from --date to this one (inclusive)")
        ] = None,
        branches: Annotated[
            str | None, typer.Option(help="several branches: codes separated by commas, or all")
        ] = None,
        bulk: Annotated[
            bool, typer.Option(help="copy simulated template days instead of running each")
        ] = False,
        distinct_days: Annotated[
            int,
            typer.Option(min=0, help="seeds cycle over this many days (0: every day its own)"),
        ] = 0,
        workers: Annotated[
            int,
            typer.Option(
                min=1, max=16, help="--bulk on PostgreSQL: connections filling side by side"
            ),
        ] = 2,
        defer_indexes: Annotated[
            bool | None,
            typer.Option(
                "--defer-indexes/--keep-indexes",
                help="--bulk on PostgreSQL: drop the secondary indexes during the fill "
                "(default: only for 1,000+ branch-days into branches with no tickets)",
            ),
        ] = None,
        config: ConfigOption = None,
        model: Annotated[
            str, typer.Option(help="day (a realistic branch day) | mmc (the Erlang C check)")
        ] = "day",
        arrivals_per_hour: Annotated[
            float, typer.Option(min=0.01, help="mmc: Poisson arrival rate")
        ] = 10.0,
        service_min: Annotated[
            float, typer.Option(min=0.01, help="mmc: mean (exponential) service time")
        ] = 5.0,
        counters: Annotated[int, typer.Option(min=1, max=64, help="mmc: counters")] = 1,
        days: Annotated[int, typer.Option(min=1, max=366, help="mmc: days")] = 20,
        hours: Annotated[
            float, typer.Option(min=1.0, max=21.0, help="mmc: hours of arrivals a day")
        ] = 20.0,
        warmup_hours: Annotated[
            float, typer.Option(min=0.0, help="mmc: first hours of a day not counted")
        ] = 2.0,
    ) -> None:
        """Fill a realistic day (arrivals with morning and lunch peaks, no-shows,
        cancellations, transfers, lunch breaks) through the real queue rules, and
        report how accurate the estimated waits were. With --to and --branches, many
        days of many branches; --bulk copies template days (see server/dashboard/bulk.py).
        With --model mmc: M/M/c days through the same rules, their mean wait against
        Erlang C's."""
        if model == "mmc":
            from server.plan.cli import run_mmc

            run_mmc(arrivals_per_hour, service_min, counters, days, seed, hours, warmup_hours)
            return
        if model != "day":
            typer.echo(f"--model {model!r}: day or mmc", err=True)
            raise typer.Exit(2)
        from server.app import prepare_database
        from server.dashboard.fill import fill_days
        from server.db import Database
        from server.errors import LobbyQError

        settings = read_config(config)
        chosen = (
            list(settings.branches)
            if branches == "all"
            else [_branch(settings, code.strip()) for code in branches.split(",")]
            if branches
            else [_branch(settings, branch)]
        )
        first = _date(day, chosen[0])
        last = _date(to, chosen[0]) if to else first
        db = Database(settings.server.database_url)
        try:
            prepare_database(settings, db)
            lines = fill_days(
                settings,
                db,
                branches=chosen,
                first=first,
                last=last,
                seed=seed,
                volume=volume,
                bulk=bulk,
                distinct_days=distinct_days,
                echo=typer.echo,
                workers=workers,
                defer_indexes=defer_indexes,
            )
        except LobbyQError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(1) from exc
        finally:
            db.dispose()
        for line in lines:
            typer.echo(line)
        typer.echo(
            f"see it: lobbyq stats --branch {chosen[0].code} --date {first.isoformat()}, "
            f"or the dashboard /dashboard/{chosen[0].code}"
        )

    @app.command("rebuild-facts")
    def rebuild_facts(
        branch: BranchOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Rewrite the ticket facts and sealed days from the event log (all branches,
        or --branch): after an upgrade, a restore, or writing into old days."""
        import time

        from server.app import prepare_database
        from server.db import Database
        from server.models import now_utc
        from server.stats.facts import rebuild

        settings = read_config(config)
        chosen = [_branch(settings, branch)] if branch else list(settings.branches)
        db = Database(settings.server.database_url)
        try:
            prepare_database(settings, db)
            for one in chosen:
                started = time.monotonic()
                with db.write() as session:
                    sealed = rebuild(session, one, now_utc())
                typer.echo(
                    f"{one.code}: {sealed} days sealed from the log in "
                    f"{time.monotonic() - started:.1f} s"
                )
        finally:
            db.dispose()

    @app.command()
    def stats(
        branch: BranchOption = None,
        day: Annotated[
            str | None, typer.Option("--date", "-d", help="YYYY-MM-DD (default: today)")
        ] = None,
        to: Annotated[str | None, typer.Option(help="last day, inclusive (YYYY-MM-DD)")] = None,
        group_by: Annotated[
            str, typer.Option("--group-by", "-g", help="service|counter|teller|priority|hour|day")
        ] = "service",
        csv_out: Annotated[
            Path | None, typer.Option("--csv", help="also write the CSV (Excel) here")
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        """Wait-time statistics as a table (definitions: docs/statistics.md)."""
        from server.db import Database, migrate
        from server.errors import LobbyQError
        from server.models import now_utc
        from server.stats.compute import branch_report, check_group_by, parse_range
        from server.stats.export import report_csv
        from server.stats.table import report_table

        settings = read_config(config)
        chosen = _branch(settings, branch)
        db = Database(settings.server.database_url)
        try:
            migrate(db.url)
            span = parse_range(chosen, day, to, now_utc())
            with db.read() as session:
                report = branch_report(
                    session, branch=chosen, group_by=check_group_by(group_by), span=span
                )
        except LobbyQError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(2) from exc
        finally:
            db.dispose()
        typer.echo(report_table(report))
        if csv_out is not None:
            csv_out.write_bytes(report_csv(report).encode("utf-8"))
            typer.echo(f"CSV written to {csv_out}")
