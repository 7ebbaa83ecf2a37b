"""The counter's actions as the CLI and the keypad run them: one call, one short line
to print, one exit code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from counter_client.client import LobbyQAPIError, LobbyQClient

TICKET_ACTIONS = ("call-next", "call", "recall", "start", "complete", "no-show", "transfer")
COUNTER_ACTIONS = ("open", "pause", "resume", "close")
ACTIONS = (*COUNTER_ACTIONS, *TICKET_ACTIONS, "ask-rating", "keypad")
NEEDS_ARG = {"call": "NUMBER", "transfer": "SERVICE"}


class Exit(IntEnum):
    """Exit codes of `lobbyq counter` (documented in its --help)."""

    ok = 0
    refused = 1  # the server said no (409, 403, 404, 422...): its message is printed
    usage = 2  # bad flags or a missing argument
    nobody_waiting = 3  # call-next: nobody is waiting for this counter
    unreachable = 4  # the server cannot be reached
    not_signed_in = 5  # wrong username/password, or the token is invalid or expired


@dataclass(frozen=True)
class Outcome:
    line: str
    exit: Exit = Exit.ok
    ticket: dict[str, Any] | None = None
    counter: dict[str, Any] | None = None


def exit_for(error: LobbyQAPIError) -> Exit:
    if error.status == 0:
        return Exit.unreachable
    if error.status == 401:
        return Exit.not_signed_in
    return Exit.refused


def describe_ticket(ticket: dict[str, Any], counter: str) -> str:
    """'A012 called at counter 3 · service A · normal' (the number comes first)."""
    status = ticket.get("status", "")
    where = {
        "called": f"called at counter {counter}",
        "serving": f"serving at counter {counter}",
        "completed": f"completed at counter {counter}",
        "no_show": "no-show",
        "waiting": "waiting"
        + (f" for counter {ticket['counter']}" if ticket.get("counter") else ""),
    }.get(status, str(status))
    service, priority = ticket.get("service"), ticket.get("priority")
    return f"{ticket.get('number')} {where} · service {service} · {priority}"


def describe_counter(counter: dict[str, Any]) -> str:
    who = counter.get("username") or "nobody"
    current = f" · holding {counter['current']}" if counter.get("current") else ""
    return f"counter {counter.get('number')} {counter.get('state')} · {who}{current}"


def perform(
    api: LobbyQClient,
    branch: str,
    counter: str,
    action: str,
    arg: str | None = None,
    *,
    rating: int | None = None,
) -> Outcome:
    """Run one action; refusals become an Outcome with the server's message."""
    try:
        return _perform(api, branch, counter, action, arg, rating)
    except LobbyQAPIError as error:
        return Outcome(f"error: {error.message} ({error.code})", exit_for(error))


def _perform(
    api: LobbyQClient, branch: str, counter: str, action: str, arg: str | None, rating: int | None
) -> Outcome:
    if action in COUNTER_ACTIONS:
        method = {
            "open": api.open_counter,
            "pause": api.pause,
            "resume": api.resume,
            "close": api.close_counter,
        }[action]
        row = method(branch, counter)
        return Outcome(describe_counter(row), counter=row)
    if action == "ask-rating":
        asked = api.ask_rating(branch, counter)
        return Outcome(f"{asked['number']} · the rating pad asks the customer / 请客户评价")
    if action == "call-next":
        found = api.call_next(branch, counter)
        if found is None:
            return Outcome(
                f"nobody is waiting for counter {counter} / 当前没有等候的客户", Exit.nobody_waiting
            )
        ticket = found
    elif action == "call":
        ticket = api.call_number(branch, counter, arg or "")
    elif action == "recall":
        ticket = api.recall(branch, counter)
    elif action == "start":
        ticket = api.start(branch, counter)
    elif action == "complete":
        ticket = api.complete(branch, counter, rating=rating)
    elif action == "no-show":
        ticket = api.no_show(branch, counter)
    elif action == "transfer":
        target = arg or ""
        if target.lower().startswith("counter:"):
            ticket = api.transfer(branch, counter, to_counter=target.split(":", 1)[1])
        else:
            ticket = api.transfer(branch, counter, service=target)
        return Outcome(
            f"{ticket['number']} transferred to {target} · waiting again, place kept",
            ticket=ticket,
        )
    else:
        return Outcome(f"unknown action {action!r}", Exit.usage)
    return Outcome(describe_ticket(ticket, counter), ticket=ticket)
