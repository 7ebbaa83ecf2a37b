"""`lobbyq counter`: drive a counter from a terminal, a script or a USB keypad."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from counter_client.actions import ACTIONS, NEEDS_ARG, Exit, exit_for, perform
from counter_client.client import LobbyQAPIError, LobbyQClient

EPILOG = (
    "ACTION: open, call-next, call NUMBER, recall, start, complete, no-show, "
    "transfer SERVICE (or counter:N), pause, resume, close, keypad.\n\n"
    "keypad keys: Enter/+ call next · digits Enter call that number · . recall · * start · "
    "/ complete · - no-show · Tab (or =, F6) transfer, then 1-9 picks the service or "
    "counter · 0 pause/resume · Backspace/Esc clear · q quit.\n\n"
    "Prints the ticket number it acted on, then a short line of state.\n\n"
    "Exit codes: 0 done; 1 refused by the server (its message is printed); 2 bad usage; "
    "3 call-next found nobody waiting; 4 server unreachable; 5 not signed in "
    "(bad credentials or token).\n\n"
    "Environment: LOBBYQ_SERVER, LOBBYQ_TOKEN, LOBBYQ_USERNAME, LOBBYQ_PASSWORD, "
    "LOBBYQ_BRANCH, LOBBYQ_COUNTER replace the flags."
)


def _fail(message: str, code: Exit) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(int(code))


def counter_command(
    action: Annotated[str, typer.Argument(help="what to do (see below)", show_default=False)],
    arg: Annotated[str | None, typer.Argument(help="NUMBER for call, SERVICE for transfer")] = None,
    server: Annotated[
        str | None, typer.Option(envvar="LOBBYQ_SERVER", help="e.g. http://127.0.0.1:8000")
    ] = None,
    branch: Annotated[str | None, typer.Option(envvar="LOBBYQ_BRANCH", help="branch code")] = None,
    counter: Annotated[
        str | None, typer.Option(envvar="LOBBYQ_COUNTER", help="counter number")
    ] = None,
    username: Annotated[str | None, typer.Option(envvar="LOBBYQ_USERNAME")] = None,
    password: Annotated[str | None, typer.Option(envvar="LOBBYQ_PASSWORD")] = None,
    token: Annotated[
        str | None, typer.Option(envvar="LOBBYQ_TOKEN", help="bearer token instead of a password")
    ] = None,
    rating: Annotated[
        int | None, typer.Option(min=1, max=5, help="complete: the customer's rating 1-5")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the server's JSON")] = False,
) -> None:
    """Drive a counter: one action per run, or `keypad` for a live keypad session."""
    action = action.strip().lower()
    if action not in ACTIONS:
        raise _fail(f"unknown action {action!r}; one of: {', '.join(ACTIONS)}", Exit.usage)
    if action in NEEDS_ARG and not arg:
        raise _fail(f"{action} needs {NEEDS_ARG[action]}", Exit.usage)
    if action not in NEEDS_ARG and arg:
        raise _fail(f"{action} takes no argument (got {arg!r})", Exit.usage)
    missing = [
        name
        for name, value in (("--server", server), ("--branch", branch), ("--counter", counter))
        if not value
    ]
    if missing:
        raise _fail(f"missing {', '.join(missing)} (or LOBBYQ_SERVER...)", Exit.usage)
    if not token and not (username and password):
        raise _fail("give --username and --password, or --token (or LOBBYQ_TOKEN)", Exit.usage)
    assert server and branch and counter
    with LobbyQClient(server, token=token) as api:
        if not token:
            assert username and password
            try:
                api.login(username, password)
            except LobbyQAPIError as error:
                raise _fail(f"error: {error.message} ({error.code})", exit_for(error)) from error
        if action == "keypad":
            from counter_client.keypad import run_keypad

            raise typer.Exit(asyncio.run(run_keypad(api, branch, counter)))
        outcome = perform(api, branch, counter, action, arg, rating=rating)
    if outcome.exit not in (Exit.ok, Exit.nobody_waiting):
        raise _fail(outcome.line, outcome.exit)
    if as_json:
        payload: Any = outcome.ticket or outcome.counter or {}
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(outcome.line)
    raise typer.Exit(int(outcome.exit))


def register(app: typer.Typer, read_config: Callable[..., Any]) -> None:
    del read_config  # the counter talks to a server over HTTP, not to a config file
    app.command(
        "counter",
        epilog=EPILOG,
        context_settings={"help_option_names": ["-h", "--help"]},
    )(counter_command)
