"""`lobbyq counter ... keypad`: a USB numeric keypad (or any terminal) drives the
counter, one key per action, and the live state follows the branch's WebSocket.

Default key map (what a numeric keypad sends):

    Enter or +      call next              (Enter after digits: call that number)
    digits, Enter   call a number: 12 Enter calls A012 if that is the one waiting
                    ticket for this counter ending in 12; A012 also works in line mode
    .               recall
    *               start service
    /               complete
    -               no-show
    0               pause / resume         (only as the first key: 0 inside a number is a digit)
    Tab (or =, F6)  transfer: lists the other services and counters numbered 1-9,
                    then 1-9 picks one (the customer keeps their place);
                    Esc, Backspace, 0 or Tab again cancels
    Backspace, Esc  clear the typed digits
    q, Ctrl-C, Ctrl-D   quit

On a TTY the keys are read in raw mode, one at a time. From a pipe or a file they
are read a line at a time: a line holding one key ('+', '.', '*', '/', '-', '0',
'=', a Tab), an empty line (Enter: call next), a number ('12', 'A012'), or an action
word ('next', 'recall', 'start', 'complete', 'no-show', 'pause', 'resume', 'open',
'close', 'ask-rating' (the counter's rating pad asks the customer), 'transfer' (the
list), 'transfer B', 'call A012', 'quit'). After the
transfer list, a line '1'-'9' picks; an empty line or '0' cancels.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from counter_client.actions import ACTIONS, Exit, Outcome, perform
from counter_client.client import LobbyQAPIError, LobbyQClient, follow_branch

KEYS: dict[str, str] = {
    "+": "call-next",
    ".": "recall",
    "*": "start",
    "/": "complete",
    "-": "no-show",
}
CLEAR_KEYS = ("\x7f", "\b", "\x1b")
QUIT_KEYS = ("q", "Q", "\x03", "\x04")
ENTER_KEYS = ("\r", "\n")
TRANSFER_KEYS = ("\t", "=")
F6 = "\x1b[17~"  # what a terminal sends for F6, the teller page's transfer key
MENU_SIZE = 9  # transfer targets picked with one key, 1-9, as on the teller page
WORDS = {"next": "call-next", "call-next": "call-next", "toggle": "toggle-pause", "quit": "quit"}
HELP = (
    "keys: Enter/+ next · digits Enter call number · . recall · * start · / complete · "
    "- no-show · Tab transfer · 0 pause/resume · Backspace clear · q quit"
)


@dataclass
class KeyState:
    """What has been typed so far (digits of a number), and whether the next key
    picks a transfer target."""

    typed: str = ""
    picking: bool = False


@dataclass(frozen=True)
class Command:
    """An ACTIONS entry, or 'call-digits', 'toggle-pause', 'transfer-menu',
    'transfer-pick' (arg: 1-9), 'transfer-cancel', 'quit' or 'echo'."""

    action: str
    arg: str | None = None


def press(state: KeyState, key: str) -> Command | None:
    """One key of a keypad in raw mode -> the command it completes, if any."""
    if key in QUIT_KEYS:
        return Command("quit")
    if state.picking:
        # The key after Tab picks a target; it is decided here, not when the list is
        # shown, so that "Tab 2" typed fast still picks 2 rather than typing a number.
        state.picking = False
        if key in "123456789":
            return Command("transfer-pick", key)
        if key in (*CLEAR_KEYS, *TRANSFER_KEYS, *ENTER_KEYS, "0"):
            return Command("transfer-cancel")
        # Any other key closes the list and does what it always does.
    if key in TRANSFER_KEYS:
        state.typed = ""
        state.picking = True
        return Command("transfer-menu")
    if key in CLEAR_KEYS:
        cleared, state.typed = state.typed, ""
        return Command("echo", "(cleared)" if cleared else "")
    if key in ENTER_KEYS:
        typed, state.typed = state.typed, ""
        return Command("call-digits", typed) if typed else Command("call-next")
    if key == "0" and not state.typed:
        return Command("toggle-pause")
    if key.isalnum() and key.isascii():
        state.typed = (state.typed + key.upper())[-8:]
        return Command("echo", state.typed)
    if key in KEYS:
        state.typed = ""
        return Command(KEYS[key])
    return None


def parse_line(line: str) -> Command | None:
    """One line read from a pipe -> a command."""
    if line.strip("\r\n") in TRANSFER_KEYS or line.strip().lower() == "transfer":
        return Command("transfer-menu")
    text = line.strip()
    if not text:
        return Command("call-next")
    if text in KEYS:
        return Command(KEYS[text])
    if text == "0":
        return Command("toggle-pause")
    if text in QUIT_KEYS:
        return Command("quit")
    if re.fullmatch(r"[A-Za-z]{0,2}\d{1,6}", text) and text.lower() not in WORDS:
        return Command("call-digits", text.upper())
    word, _, rest = text.partition(" ")
    word = word.lower()
    action = WORDS.get(word, word)
    if action in ("quit", "toggle-pause"):
        return Command(action)
    if action in ACTIONS and action != "keypad":
        return Command(action, rest.strip() or None)
    return Command("echo", f"? unknown key or word {text!r}")


def resolve_number(typed: str, waiting: list[dict[str, Any]]) -> str:
    """'12' -> the waiting ticket for this counter whose number ends in 12 (A012), when
    exactly one does; anything else is sent as typed and the server answers."""
    if not typed.isdigit():
        return typed
    value = int(typed)
    matches = []
    for ticket in waiting:
        digits = re.sub(r"\D", "", str(ticket.get("number", "")))
        if digits and int(digits) == value:
            matches.append(str(ticket["number"]))
    return matches[0] if len(matches) == 1 else typed


def live_line(summary: dict[str, Any]) -> str:
    counter = summary.get("counter", {})
    current = summary.get("current")
    held = f"{current['number']} {current['status']}" if current else "no ticket"
    waiting = len(summary.get("waiting", []))
    today = summary.get("today", {}).get("counter", {})
    return (
        f"[counter {counter.get('number')} {counter.get('state')}] {held} · "
        f"waiting {waiting} · served today {today.get('served', 0)}"
    )


@dataclass
class Keypad:
    api: LobbyQClient
    branch: str
    counter: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    newline: str = "\n"
    last_live: str = ""
    failures: int = 0
    line_mode: bool = False  # commands come from lines of a pipe, not raw keys
    # The transfer list on screen: (what it shows, the argument of `transfer`).
    targets: list[tuple[str, str]] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.out.write(text + self.newline)
        self.out.flush()

    def summary(self) -> dict[str, Any] | None:
        try:
            return self.api.counter_summary(self.branch, self.counter)
        except LobbyQAPIError as error:
            self.say(f"error: {error.message} ({error.code})")
            return None

    def show_live(self, force: bool = False) -> None:
        summary = self.summary()
        if summary is None:
            return
        line = live_line(summary)
        if force or line != self.last_live:
            self.last_live = line
            self.say(line)

    def run(self, command: Command) -> bool:
        """Carry out one command; False means quit."""
        if command.action == "quit":
            return False
        if command.action == "echo":
            if command.arg:
                self.say(f"> {command.arg}")
            return True
        command = self._in_transfer_list(command)
        action, arg = command.action, command.arg
        if action == "transfer-menu":
            self.open_transfer_list()
            return True
        if action == "transfer-cancel":
            self.targets = []
            self.say("transfer cancelled")
            return True
        if action == "transfer-pick":
            target = self._pick(arg or "")
            if target is None:
                return True
            action, arg = "transfer", target
        if action == "toggle-pause":
            summary = self.summary()
            state = summary["counter"]["state"] if summary else "open"
            action = "resume" if state == "paused" else "pause"
        elif action == "call-digits":
            summary = self.summary()
            waiting = summary["waiting"] if summary else []
            action, arg = "call", resolve_number(arg or "", waiting)
        outcome: Outcome = perform(self.api, self.branch, self.counter, action, arg)
        if outcome.exit not in (Exit.ok, Exit.nobody_waiting):
            self.failures += 1
        self.say(outcome.line)
        self.show_live()
        return True

    def _in_transfer_list(self, command: Command) -> Command:
        """While the list is shown, a line '1'-'9' from a pipe picks and an empty line or
        '0' cancels (raw keys were decided by press() already); anything else closes it."""
        if not self.targets or command.action.startswith("transfer-"):
            return command
        if self.line_mode:
            if command.action == "call-digits" and command.arg in tuple("123456789"):
                return Command("transfer-pick", command.arg)
            if command.action in ("call-next", "toggle-pause"):
                return Command("transfer-cancel")
        self.targets = []
        return command

    def open_transfer_list(self) -> None:
        """Show the services and counters the held ticket may go to, numbered 1-9 (the
        teller page's F6 list: other services first, then the other counters)."""
        self.targets = []
        summary = self.summary()
        if summary is None:
            return
        current = summary.get("current")
        if not current:
            self.say("nothing to transfer: call a ticket first")
            return
        try:
            services = self.api.services(self.branch)
            counters = self.api.counters(self.branch)
        except LobbyQAPIError as error:
            self.say(f"error: {error.message} ({error.code})")
            return
        targets = [
            (f"service {s['code']} · {_names(s)}", str(s["code"]))
            for s in services
            if s.get("code") != current.get("service")
        ]
        targets += [
            (
                f"counter {c['number']} · {_names(c)} ({', '.join(c.get('services') or [])})",
                f"counter:{c['number']}",
            )
            for c in counters
            if str(c.get("number")) != self.counter
        ]
        if not targets:
            self.say("nothing to transfer to: no other service or counter")
            return
        self.targets = targets[:MENU_SIZE]
        self.say(f"transfer {current['number']} to: press 1-{len(self.targets)}, Esc cancels")
        for index, (label, _) in enumerate(self.targets, start=1):
            self.say(f"  {index}  {label}")
        if len(targets) > MENU_SIZE:
            self.say(f"  ({len(targets) - MENU_SIZE} more: `lobbyq counter transfer counter:N`)")

    def _pick(self, key: str) -> str | None:
        targets, self.targets = self.targets, []
        if not targets:
            self.say("no transfer list open: press Tab first")
            return None
        index = int(key) - 1 if key.isdigit() else -1
        if not 0 <= index < len(targets):
            self.say(f"no target {key}: transfer cancelled")
            return None
        return targets[index][1]


def _names(row: dict[str, Any]) -> str:
    name = row.get("name") or {}
    return " ".join(str(name[lang]) for lang in ("zh", "en") if name.get(lang)) or "?"


async def _follow(keypad: Keypad, token: str | None) -> None:
    """Re-read the counter on every event (the server is the truth). While the
    WebSocket is down, poll every 3 s, and try the WebSocket again now and then."""
    while True:
        with contextlib.suppress(LobbyQAPIError):
            async for _ in follow_branch(
                keypad.api.server, keypad.branch, token=token, reconnect=False
            ):
                await asyncio.to_thread(keypad.show_live)
        for _ in range(4):
            await asyncio.to_thread(keypad.show_live)
            await asyncio.sleep(3)


async def _lines(queue: asyncio.Queue[Command | None], stream: TextIO) -> None:
    """Lines from a pipe, read in a daemon thread so quitting never waits on input."""
    loop = asyncio.get_running_loop()

    def put(command: Command | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has ended: quit came first
            loop.call_soon_threadsafe(queue.put_nowait, command)

    def read() -> None:
        for line in stream:
            command = parse_line(line)
            if command is not None:
                put(command)
        put(None)

    threading.Thread(target=read, name="keypad-lines", daemon=True).start()


async def _raw_keys(queue: asyncio.Queue[Command | None], fd: int) -> None:
    loop = asyncio.get_running_loop()
    state = KeyState()
    ready: asyncio.Queue[str] = asyncio.Queue()

    def readable() -> None:
        data = os.read(fd, 64)
        ready.put_nowait(data.decode("utf-8", "ignore") if data else "\x04")

    loop.add_reader(fd, readable)
    try:
        while True:
            chunk = await ready.get()
            if chunk.startswith(F6):
                chunk = "\t" + chunk[len(F6) :]
            if chunk.startswith("\x1b["):  # arrows, other F-keys: not keypad keys
                continue
            for key in chunk:
                command = press(state, key)
                if command is not None:
                    await queue.put(command)
    finally:
        loop.remove_reader(fd)


async def run_keypad(
    api: LobbyQClient,
    branch: str,
    counter: str,
    *,
    stream: TextIO | None = None,
    out: TextIO | None = None,
    live: bool = True,
) -> int:
    """Run until quit or end of input; returns the exit code (1 if any action was
    refused, else 0)."""
    stream = stream or sys.stdin
    raw = stream.isatty()
    queue: asyncio.Queue[Command | None] = asyncio.Queue()
    restore: Callable[[], None] = lambda: None  # noqa: E731
    reader: asyncio.Task[None] | None = None
    if raw:
        # Raw mode before the first line is printed: a key pressed at once is not
        # held back by the terminal's line editing.
        restore = _raw_mode(stream.fileno())
        reader = asyncio.create_task(_raw_keys(queue, stream.fileno()))
    keypad = Keypad(
        api,
        branch,
        counter,
        out=out or sys.stdout,
        newline="\r\n" if raw else "\n",
        line_mode=not raw,
    )
    follower: asyncio.Task[None] | None = None
    try:
        keypad.say(f"LobbyQ keypad · branch {branch} · counter {counter}")
        keypad.say(HELP)
        keypad.show_live(force=True)
        if not raw:
            await _lines(queue, stream)
        if live:
            follower = asyncio.create_task(_follow(keypad, api.token))
        while True:
            command = await queue.get()
            if command is None or not await asyncio.to_thread(keypad.run, command):
                break
    finally:
        restore()
        for task in (reader, follower):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    keypad.say("bye")
    return 1 if keypad.failures else 0


def _raw_mode(fd: int) -> Callable[[], None]:
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setraw(fd)

    def restore() -> None:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return restore
