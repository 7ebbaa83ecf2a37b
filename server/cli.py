"""`lobbyq`: serve, init-db, create-user, and the commands of the other packages
(print-test, simulate, stats, counter)."""

from __future__ import annotations

import logging
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from server.config import AppConfig, ConfigError, demo_config_path, load_config

app = typer.Typer(
    help="LobbyQ — queue and ticketing for bank branches (网点排队叫号系统)", no_args_is_help=True
)

class LogFormat(StrEnum):
    text = "text"
    json = "json"


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config (default: $LOBBYQ_CONFIG, else the demo)"),
]


def read_config(path: Path | None) -> AppConfig:
    """--config, else $LOBBYQ_CONFIG, else the demo branch (config.example.toml)."""
    chosen = path or (
        Path(os.environ["LOBBYQ_CONFIG"]) if os.environ.get("LOBBYQ_CONFIG") else None
    )
    try:
        return load_config(chosen or demo_config_path())
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    log_format: Annotated[
        LogFormat, typer.Option(help="text, or json (one object a line) for log collectors")
    ] = LogFormat.text,
    log_level: Annotated[
        str, typer.Option(help="debug | info (one line per request) | warning | error")
    ] = "info",
) -> None:
    """Run the server (migrations are applied on start). Logs go to standard error;
    on SIGTERM it stops accepting, finishes what is in flight and exits."""
    from server.app import create_app
    from server.logs import config_secrets, setup_logging

    settings = read_config(config)
    os.umask(0o077)  # every file the server writes (database, keys, audio, logs) is 0600
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        typer.echo(f"--log-level {log_level!r}: use debug, info, warning or error", err=True)
        raise typer.Exit(2)
    setup_logging(log_format.value, log_level, config_secrets(settings))
    application = create_app(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    if log_format is LogFormat.json:
        logging.getLogger("lobbyq").info("LobbyQ on %s (config: %s)", base, settings.source)
    else:
        _banner(settings, base)
    run_server(application, host=host, port=port)


def _banner(settings: AppConfig, base: str) -> None:
    """The addresses of the pages. A device's token is shown only on a terminal: the
    output of a service goes to a log, where no token may be written."""
    tokens_shown = sys.stdout.isatty()

    def token(value: str) -> str:
        return value if tokens_shown else "<token from the config>"

    typer.echo(f"LobbyQ on {base}  (config: {settings.source})")
    for branch in settings.branches:
        typer.echo(f"  branch {branch.code} {branch.name.zh} / {branch.name.en}")
        for kiosk in branch.kiosks:
            page = f"{base}/kiosk/{branch.code}/{kiosk.id}"
            typer.echo(f"    kiosk     {page}?token={token(kiosk.token)}")
        for display in branch.displays:
            page = f"{base}/display/{branch.code}/{display.id}"
            typer.echo(f"    display   {page}?token={token(display.token)}")
        for device in branch.counter_devices:
            query = f"{branch.code}/{device.counter}"
            typer.echo(f"    sign      {base}/counter-sign/{query}?token={token(device.token)}")
            typer.echo(f"    pad       {base}/rate/{query}?token={token(device.token)}")
        typer.echo(f"    counter   {base}/counter/{branch.code}")
        typer.echo(f"    lobby     {base}/lobby/{branch.code}")
        typer.echo(f"    dashboard {base}/dashboard/{branch.code}")
    typer.echo("  (a device may also open its address without ?token= and take the token in its")
    typer.echo("   form once, which keeps the token out of the browser's history)")
    typer.echo(f"  API docs  {base}/docs")
    passwords = Path(settings.server.data_dir) / "initial-passwords.txt"
    if passwords.exists():
        typer.echo(f"  sign in with the users and passwords in {passwords}")
    else:
        typer.echo("  sign in with the [[users]] of the config, or add one: lobbyq create-user")


def run_server(application: Any, *, host: str, port: int) -> None:
    import uvicorn

    from server.realtime.heap import settle_heap

    settle_heap()  # thousands of sockets: the collector must not rescan them all the time

    # ws: uvicorn's websockets-sansio plus ready-made frames for the fan-out to displays;
    # no permessage-deflate: small JSON on a LAN, and it cost CPU and zlib memory per
    # screen (server/realtime/fanout.py, bench/bench_display.py).
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # our handler (server/logs.py): uvicorn's lines are scrubbed too
        access_log=False,  # server.logs.RequestLog writes one line per request instead
        ws="server.realtime.fanout:FanoutWebSocketProtocol",
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        # After a restart every display reconnects at once: a short accept queue drops
        # their SYNs and each dropped one waits 1 s (then 3 s...) to try again. The
        # kernel caps it at net.core.somaxconn (docs/deployment.md).
        backlog=8192,
        proxy_headers=False,  # [server] trusted_proxies decides (server/security.py)
        # SIGTERM: stop accepting, close WebSockets (1001), let requests in flight end;
        # whatever still runs after 3 s is cancelled, so the process is gone within 5 s.
        timeout_graceful_shutdown=3,
    )


@app.command("init-db")
def init_db(config: ConfigOption = None) -> None:
    """Apply migrations and load the config's branches and users."""
    from server.app import prepare_database
    from server.db import Database

    settings = read_config(config)
    db = Database(settings.server.database_url)
    prepare_database(settings, db)
    db.dispose()
    from sqlalchemy.engine import make_url

    shown = make_url(settings.server.database_url).render_as_string(hide_password=True)
    typer.echo(f"database ready: {shown}")


@app.command("backup")
def backup_command(
    path: Annotated[Path, typer.Argument(help="file to write the copy to")],
    force: Annotated[bool, typer.Option("--force", help="replace PATH if it exists")] = False,
    config: ConfigOption = None,
) -> None:
    """A consistent copy of the database, also while the server runs (SQLite: online
    backup; PostgreSQL: pg_dump custom format, restore with pg_restore)."""
    from server.backup import BackupError, backup

    settings = read_config(config)
    try:
        done = backup(settings.server.database_url, path, force=force)
    except BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"backup written: {done.path} ({done.size} bytes, {done.kind})")


@app.command("create-user")
def create_user_command(
    username: str,
    role: Annotated[str, typer.Option(help="teller | manager | admin | regional ...")] = "teller",
    password: Annotated[
        str | None, typer.Option(help="password (asked for when not given)")
    ] = None,
    branches: Annotated[
        str | None, typer.Option(help="regional: the branches it oversees, comma separated, or *")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create a user, or set an existing user's password and role."""
    from server.bootstrap import create_user
    from server.db import Database, migrate
    from server.models import Role

    if role not in {r.value for r in Role}:
        typer.echo(f"role must be one of {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        typer.echo("password must be at least 8 characters", err=True)
        raise typer.Exit(2)
    settings = read_config(config)
    db = Database(settings.server.database_url)
    migrate(db.url)
    with db.write() as session:
        create_user(
            session,
            username=username,
            password=password,
            role=role,
            branches=[b.strip() for b in branches.split(",") if b.strip()] if branches else None,
        )
    db.dispose()
    typer.echo(f"user {username} ({role}) saved")


@app.command("disable-user")
def disable_user_command(username: str, config: ConfigOption = None) -> None:
    """Stop a user signing in; every token it holds stops working at once."""
    from server.bootstrap import disable_user
    from server.db import Database, migrate

    settings = read_config(config)
    db = Database(settings.server.database_url)
    migrate(db.url)
    with db.write() as session:
        found = disable_user(session, username)
    db.dispose()
    if not found:
        typer.echo(f"no user {username!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"user {username} disabled; its sessions have ended")


def _register_package_commands() -> None:
    from counter_client import cli as counter_cli
    from kiosk import cli as kiosk_cli
    from lobby_display import voice_pack as voice_pack_cli
    from server.dashboard import cli as dashboard_cli
    from server.plan import cli as plan_cli

    for module in (counter_cli, kiosk_cli, dashboard_cli, plan_cli, voice_pack_cli):
        module.register(app, read_config)


_register_package_commands()


def main() -> None:
    app(prog_name="lobbyq")


if __name__ == "__main__":
    main()
