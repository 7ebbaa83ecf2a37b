"""`lobbyq counter ...` run as a subprocess against the live server: every action,
its errors and exit codes, and keypad mode driven through a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.counter_client.conftest import issue
from tests.support import PASSWORDS, LiveServer

LOBBYQ = str(Path(sys.executable).parent / "lobbyq")
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("LOBBYQ_")}

Run = subprocess.CompletedProcess[str]


def lobbyq(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    return subprocess.run(
        [LOBBYQ, "counter", *args],
        capture_output=True,
        text=True,
        input=stdin if stdin is not None else "",
        env={**CLEAN_ENV, **(env or {})},
        timeout=60,
    )


def as_user(server: LiveServer, username: str, counter: str) -> list[str]:
    return ["--server", server.url, "--branch", "b1", "--counter", counter,
            "--username", username, "--password", PASSWORDS[username]]  # fmt: skip


def sequence(steps: list[tuple[list[str], dict[str, str] | None]]) -> Callable[[], list[Run]]:
    def go() -> list[Run]:
        return [lobbyq(*args, env=env) for args, env in steps]

    return go


def in_parallel(*jobs: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(len(jobs)) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


def ok(run: Run) -> str:
    assert run.returncode == 0, f"exit {run.returncode}: {run.stdout} {run.stderr}"
    return run.stdout.strip()


def test_every_action_and_the_errors(server: LiveServer) -> None:
    # Two counters at once, on tickets the other cannot take: counter 4 alone serves C;
    # counter 2 takes the oldest (A001), then calls B001 by its number.
    a1, b1, c1 = issue(server, "A"), issue(server, "B"), issue(server, "C")
    # teller2 by LOBBYQ_SERVER/LOBBYQ_TOKEN..., teller4 by --token, teller1 by password
    two = {"LOBBYQ_SERVER": server.url, "LOBBYQ_TOKEN": server.token("teller2"),
           "LOBBYQ_BRANCH": "b1", "LOBBYQ_COUNTER": "2"}  # fmt: skip
    four = ["--server", server.url, "--branch", "b1", "--counter", "4",
            "--token", server.token("teller4")]  # fmt: skip
    day_four, day_two = in_parallel(
        sequence(
            [
                ([*four, "open"], None),
                ([*four, "call-next"], None),
                ([*four, "recall"], None),
                ([*four, "start"], None),
                ([*four, "complete", "--rating", "5"], None),
                ([*four, "ask-rating"], None),
                ([*four, "call-next"], None),
                ([*four, "close"], None),
            ]
        ),
        sequence(
            [
                (["open"], two),
                (["call-next"], two),
                (["transfer", "B"], two),
                (["call", b1.lower()], two),
                (["no-show"], two),
                (["pause"], two),
                (["resume"], two),
            ]
        ),
    )
    assert [ok(r) for r in day_four[:5]] == [
        "counter 4 open · teller4",
        f"{c1} called at counter 4 · service C · normal",
        f"{c1} called at counter 4 · service C · normal",  # recalled
        f"{c1} serving at counter 4 · service C · normal",
        f"{c1} completed at counter 4 · service C · normal",
    ]
    # the teller asks the customer to rate on the counter's pad (the teller's own
    # --rating above is kept but never counted)
    assert ok(day_four[5]) == f"{c1} · the rating pad asks the customer / 请客户评价"
    # nobody waits for counter 4 (service C): a clear message and its own exit code
    assert day_four[6].returncode == 3
    assert day_four[6].stdout.strip() == "nobody is waiting for counter 4 / 当前没有等候的客户"
    assert ok(day_four[7]) == "counter 4 closed · nobody"
    assert [ok(r) for r in day_two] == [
        "counter 2 open · teller2",
        f"{a1} called at counter 2 · service A · normal",
        f"{a1} transferred to B · waiting again, place kept",
        f"{b1} called at counter 2 · service B · normal",
        f"{b1} no-show · service B · normal",
        "counter 2 paused · teller2",
        "counter 2 open · teller2",
    ]
    with server.client("teller1") as api:
        queue = api.get("/branches/b1/queue").json()
        rated = api.get("/branches/b1/counters/4/summary").json()
    waiting = {s["code"]: [w["number"] for w in s["waiting"]] for s in queue["services"]}
    assert waiting == {"A": [], "B": [a1], "C": []}
    assert rated["today"]["counter"]["served"] == 1

    # errors: the server's message on stderr, one exit code per kind (usage errors,
    # exit 2, are checked in-process below)
    elsewhere = ["--branch", "b1", "--counter", "1", "--token"]
    errors = in_parallel(
        lambda: lobbyq("--server", server.url, *elsewhere, "forged", "open"),
        lambda: lobbyq("--server", "http://127.0.0.1:9", *elsewhere, "x", "open"),
        lambda: lobbyq(*as_user(server, "teller1", "2"), "open"),
    )
    expected = [
        (5, "error: invalid token (invalid_token)"),
        (4, "cannot reach http://127.0.0.1:9"),
        (1, "error: teller2 is signed in at counter 2 (counter_taken)"),
    ]
    for run, (code, text) in zip(errors, expected, strict=True):
        assert run.returncode == code, (text, run.returncode, run.stdout, run.stderr)
        assert text in run.stderr, (text, run.stdout, run.stderr)
        assert run.stdout == ""


class TestInProcess:
    """The same command through typer's runner: usage errors and the environment."""

    def invoke(self, *args: str, env: dict[str, str] | None = None) -> Any:
        from typer.testing import CliRunner

        from server.cli import app

        return CliRunner().invoke(app, ["counter", *args], env=env)

    def test_usage_errors(self, server: LiveServer) -> None:
        one = as_user(server, "teller1", "1")
        cases = [
            ((*one, "dance"), "unknown action 'dance'"),
            ((*one, "call"), "call needs NUMBER"),
            ((*one, "transfer"), "transfer needs SERVICE"),
            ((*one, "recall", "A001"), "recall takes no argument"),
            (("--branch", "b1", "--counter", "1", "--token", "x", "open"), "missing --server"),
            (("--server", server.url, "--branch", "b1", "--counter", "1", "open"), "--token"),
        ]
        for args, text in cases:
            result = self.invoke(*args, env={"LOBBYQ_SERVER": "", "LOBBYQ_TOKEN": ""})
            assert result.exit_code == 2, (args, result.output)
            assert text in result.output

    def test_environment_replaces_flags_and_flags_win(self, server: LiveServer) -> None:
        env = {"LOBBYQ_SERVER": server.url, "LOBBYQ_USERNAME": "teller1",
               "LOBBYQ_PASSWORD": PASSWORDS["teller1"], "LOBBYQ_BRANCH": "b1",
               "LOBBYQ_COUNTER": "2", "LOBBYQ_TOKEN": ""}  # fmt: skip
        result = self.invoke("--counter", "1", "open", env=env)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "counter 1 open · teller1"
        number = issue(server, "A")
        result = self.invoke("--counter", "1", "--json", "call-next", env=env)
        assert result.exit_code == 0, result.output
        assert '"number": "' + number + '"' in result.output
        result = self.invoke("--counter", "1", "complete", "--rating", "9", env=env)
        assert result.exit_code == 2  # ratings are 1-5
        result = self.invoke("--counter", "1", "transfer", "counter:2", env=env)
        assert result.exit_code == 0, result.output
        assert f"{number} transferred to counter:2 · waiting again, place kept" in result.output, [
            result.output
        ]
        result = self.invoke("--counter", "1", "transfer", "Z", env=env)
        assert result.exit_code == 1


def test_keypad_through_a_pipe(server: LiveServer) -> None:
    waiting = issue(server, "A")
    later = issue(server, "A")
    keys = "\n".join(
        ["open", "+", ".", "*", "/", later[-1], "-", "0", "0", "+", later, "close", "q"]
    )
    run = lobbyq(*as_user(server, "teller1", "1"), "keypad", stdin=keys + "\n")
    out = run.stdout
    assert run.returncode == 1, out + run.stderr  # one refusal: the close while A is held
    lines = [line for line in out.splitlines() if not line.startswith("[counter")]
    assert lines[:2] == ["LobbyQ keypad · branch b1 · counter 1", lines[1]]
    assert lines[1].startswith("keys: Enter/+ next")
    assert lines[2:] == [
        "counter 1 open · teller1",
        f"{waiting} called at counter 1 · service A · normal",
        f"{waiting} called at counter 1 · service A · normal",  # recall
        f"{waiting} serving at counter 1 · service A · normal",
        f"{waiting} completed at counter 1 · service A · normal",
        f"{later} called at counter 1 · service A · normal",  # typed its last digit
        f"{later} no-show · service A · normal",
        "counter 1 paused · teller1",
        "counter 1 open · teller1",
        "nobody is waiting for counter 1 / 当前没有等候的客户",
        f"{later} called at counter 1 · service A · normal",  # a no-show reinstated by number
        f"error: {later} is still at this counter: complete or transfer it first (ticket_held)",
        "bye",
    ]
    # the live state line, re-read after each action
    assert f"[counter 1 open] {later} called · waiting 0 · served today 1" in out


class KeypadTerminal:
    """`lobbyq counter ... keypad` on a real terminal (a pty) at counter 4, signed in
    as teller4: `press` sends key bytes as a USB keypad does, `until` waits for text."""

    def __init__(self, server: LiveServer) -> None:
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: lobbyq on the terminal
            os.execve(
                LOBBYQ, [LOBBYQ, "counter", *as_user(server, "teller4", "4"), "keypad"], CLEAN_ENV
            )
        self.seen = b""

    def press(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def until(self, text: str, timeout: float = 60) -> None:
        import select

        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            assert time.monotonic() < deadline, f"{text!r} not shown; got {self.seen.decode()!r}"
            if select.select([self.fd], [], [], 0.2)[0]:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    break

    def finish(self) -> int:
        """Wait for the program to end (killing it after 20 s); its exit code."""
        import signal

        deadline = time.monotonic() + 20
        while (done := os.waitpid(self.pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(self.pid, signal.SIGKILL)
            done = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(done[1])


def test_keypad_in_raw_mode_on_a_terminal(server: LiveServer) -> None:
    """On a TTY keys are read one at a time, without Enter, as a USB keypad sends them."""
    number = issue(server, "C")
    with server.client("teller4") as api:
        assert api.post("/branches/b1/counters/4/open").status_code == 200
    term = KeypadTerminal(server)
    try:
        term.until("[counter 4 open]")
        term.press(b"+")
        term.until(f"{number} called at counter 4")
        term.press(b"7\x7f")  # typed, then cleared
        term.until("(cleared)")
        term.press(b"/")
        term.until(f"{number} completed at counter 4")
        term.press(b"q")
        term.until("bye")
    finally:
        code = term.finish()
    assert code == 0
    assert b"\r\n" in term.seen  # raw mode: the program writes its own carriage returns


def transfer_list(number: str, counter_names: dict[str, str]) -> list[str]:
    """The keypad's transfer list for an A ticket at counter 1 of the test branch."""
    return [
        f"transfer {number} to: press 1-5, Esc cancels",
        "  1  service B · 非现金 Non-cash",
        "  2  service C · 对公 Corporate",
        f"  3  counter 2 · {counter_names['2']} (A, B)",
        f"  4  counter 3 · {counter_names['3']} (B)",
        f"  5  counter 4 · {counter_names['4']} (C)",
    ]


def counter_names(server: LiveServer) -> dict[str, str]:
    with server.client("teller1") as api:
        rows = api.get("/branches/b1/counters").json()
    return {row["number"]: f"{row['name']['zh']} {row['name']['en']}" for row in rows}


def test_keypad_transfer_key_through_a_pipe(server: LiveServer) -> None:
    """Tab (or '=' or the word 'transfer') lists the targets; the next line picks one."""
    first = issue(server, "A")
    second = issue(server, "A")
    names = counter_names(server)
    lines = ["open", "+", "\t", "1", f"call {second}", "=", "", "transfer", "4", "transfer", "q"]
    run = lobbyq(*as_user(server, "teller1", "1"), "keypad", stdin="\n".join(lines) + "\n")
    assert run.returncode == 0, run.stdout + run.stderr
    shown = [line for line in run.stdout.splitlines() if not line.startswith("[counter")]
    assert "Tab transfer" in shown[1]
    assert shown[2:] == [
        "counter 1 open · teller1",
        f"{first} called at counter 1 · service A · normal",
        *transfer_list(first, names),
        f"{first} transferred to B · waiting again, place kept",
        f"{second} called at counter 1 · service A · normal",
        *transfer_list(second, names),
        "transfer cancelled",  # an empty line (Enter) cancels: it does not call next
        *transfer_list(second, names),
        f"{second} transferred to counter:3 · waiting again, place kept",
        "nothing to transfer: call a ticket first",
        "bye",
    ]
    with server.client("teller1") as api:
        queue = api.get("/branches/b1/queue").json()
    waiting = {s["code"]: [t["number"] for t in s["waiting"]] for s in queue["services"]}
    assert first in waiting["B"]  # moved to service B
    with server.client("teller3") as api:
        summary = api.get("/branches/b1/counters/3/summary").json()
    assert second in [t["number"] for t in summary["waiting"]]  # waits for counter 3


def test_keypad_transfer_key_on_a_terminal(server: LiveServer) -> None:
    """Raw mode: Tab then one digit, as a USB keypad sends them; F6 as on the teller page."""
    first = issue(server, "C")
    second = issue(server, "C")
    with server.client("teller4") as api:
        assert api.post("/branches/b1/counters/4/open").status_code == 200
    term = KeypadTerminal(server)
    try:
        term.until("[counter 4 open]")
        term.press(b"+")
        term.until(f"{first} called at counter 4")
        term.press(b"\t")
        term.until(f"transfer {first} to: press 1-5")
        term.until("  1  service A · 个人现金 Cash\r\n")
        term.press(b"1")
        term.until(f"{first} transferred to A · waiting again, place kept")
        term.press(b"+")
        term.until(f"{second} called at counter 4")
        term.press(b"\x1b[17~3")  # F6, then 3: counter 1, without waiting for the list
        term.until(f"{second} transferred to counter:1 · waiting again, place kept")
        term.press(b"q")
        term.until("bye")
    finally:
        code = term.finish()
    assert code == 0
    with server.client("teller1") as api:
        summary = api.get("/branches/b1/counters/1/summary").json()
    # first went to service A, second to counter 1: both now wait for counter 1
    assert {first, second} <= {t["number"] for t in summary["waiting"]}


def test_help_lists_the_keypad_keys() -> None:
    run = subprocess.run(
        [LOBBYQ, "counter", "--help"],
        capture_output=True,
        text=True,
        env={**CLEAN_ENV, "COLUMNS": "200"},
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert "Tab (or =, F6) transfer, then 1-9 picks the service or counter" in text
    assert "- no-show" in text and "0 pause/resume" in text
