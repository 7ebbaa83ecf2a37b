"""`lobbyq`: serve, init-db, create-user, and the commands of the other packages
(print-test, simulate, stats, counter)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from server.config import AppConfig, ConfigError, demo_config_path, load_config

app = typer.Typer(
    help="LobbyQ — queue and ticketing for bank branches (网点排队叫号系统)", no_args_is_help=True
)

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
) -> None:
    """Run the server (migrations are applied on start)."""
    import uvicorn

    from server.app import create_app

    settings = read_config(config)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    application = create_app(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    typer.echo(f"LobbyQ on {base}  (config: {settings.source})")
    for branch in settings.branches:
        typer.echo(f"  branch {branch.code} {branch.name.zh} / {branch.name.en}")
        for kiosk in branch.kiosks:
            typer.echo(f"    kiosk     {base}/kiosk/{branch.code}/{kiosk.id}?token={kiosk.token}")
        for display in branch.displays:
            typer.echo(
                f"    display   {base}/display/{branch.code}/{display.id}?token={display.token}"
            )
        for device in branch.counter_devices:
            query = f"{branch.code}/{device.counter}?token={device.token}"
            typer.echo(f"    sign      {base}/counter-sign/{query}")
            typer.echo(f"    pad       {base}/rate/{query}")
        typer.echo(f"    counter   {base}/counter/{branch.code}")
        typer.echo(f"    lobby     {base}/lobby/{branch.code}")
        typer.echo(f"    dashboard {base}/dashboard/{branch.code}")
    typer.echo(f"  API docs  {base}/docs")
    passwords = Path(settings.server.data_dir) / "initial-passwords.txt"
    if passwords.exists():
        typer.echo(f"  sign in with the users and passwords in {passwords}")
    else:
        typer.echo("  sign in with the [[users]] of the config, or add one: lobbyq create-user")
    # ws: uvicorn's websockets-sansio plus ready-made frames for the fan-out to displays;
    # no permessage-deflate: small JSON on a LAN, and it cost CPU and zlib memory per
    # screen (server/realtime/fanout.py, bench/bench_display.py).
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="warning",
        ws="server.realtime.fanout:FanoutWebSocketProtocol",
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        proxy_headers=False,  # [server] trusted_proxies decides (server/security.py)
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
    typer.echo(f"database ready: {settings.server.database_url}")


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
    from server.dashboard import cli as dashboard_cli

    for module in (counter_cli, kiosk_cli, dashboard_cli):
        module.register(app, read_config)


_register_package_commands()


def main() -> None:
    app(prog_name="lobbyq")


if __name__ == "__main__":
    main()
