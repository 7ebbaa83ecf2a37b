"""The keypad's key map as pure functions: what each key (raw) or line (pipe) does."""

from __future__ import annotations

from counter_client.keypad import Command, KeyState, live_line, parse_line, press, resolve_number


def keys(sequence: str) -> list[Command]:
    state = KeyState()
    pressed = [press(state, key) for key in sequence]
    return [c for c in pressed if c is not None and c.action != "echo"]


class TestRawKeys:
    def test_one_key_per_action(self) -> None:
        assert keys("+./*-") == [
            Command("call-next"),
            Command("recall"),
            Command("complete"),
            Command("start"),
            Command("no-show"),
        ]

    def test_enter_calls_next_or_the_typed_number(self) -> None:
        assert keys("\r") == [Command("call-next")]
        assert keys("12\r") == [Command("call-digits", "12")]
        assert keys("105\n") == [Command("call-digits", "105")]  # 0 inside a number

    def test_zero_first_pauses_or_resumes(self) -> None:
        assert keys("0") == [Command("toggle-pause")]

    def test_backspace_and_escape_clear(self) -> None:
        assert keys("12\x7f\r") == [Command("call-next")]
        assert keys("7\x1b+") == [Command("call-next")]

    def test_quit(self) -> None:
        for key in ("q", "\x03", "\x04"):
            assert keys(key) == [Command("quit")]

    def test_other_keys_do_nothing(self) -> None:
        assert press(KeyState(), "!") is None

    def test_tab_opens_the_transfer_list_and_the_next_key_picks(self) -> None:
        assert keys("\t2") == [Command("transfer-menu"), Command("transfer-pick", "2")]
        assert keys("=9") == [Command("transfer-menu"), Command("transfer-pick", "9")]
        # Typed digits are dropped: the key after Tab is a pick, not part of a number.
        assert keys("12\t3\r") == [
            Command("transfer-menu"),
            Command("transfer-pick", "3"),
            Command("call-next"),
        ]

    def test_the_transfer_list_is_cancelled_or_left_by_any_other_key(self) -> None:
        for key in ("\x1b", "\x7f", "\t", "\r", "0"):
            assert keys("\t" + key) == [Command("transfer-menu"), Command("transfer-cancel")]
        assert keys("\t+") == [Command("transfer-menu"), Command("call-next")]
        assert keys("\tq") == [Command("transfer-menu"), Command("quit")]
        assert keys("\t\t\t4") == [  # Tab, cancel, Tab again, pick
            Command("transfer-menu"),
            Command("transfer-cancel"),
            Command("transfer-menu"),
            Command("transfer-pick", "4"),
        ]
        assert keys("\t/3") == [  # the list was left: 3 is typed, not a pick
            Command("transfer-menu"),
            Command("complete"),
        ]

    def test_the_old_keys_are_unchanged(self) -> None:
        assert keys("+./*-0\r12\r") == [
            Command("call-next"),
            Command("recall"),
            Command("complete"),
            Command("start"),
            Command("no-show"),
            Command("toggle-pause"),
            Command("call-next"),
            Command("call-digits", "12"),
        ]


class TestLines:
    def test_lines_from_a_pipe(self) -> None:
        assert parse_line("\n") == Command("call-next")
        assert parse_line("+\n") == Command("call-next")
        assert parse_line("/\n") == Command("complete")
        assert parse_line("0\n") == Command("toggle-pause")
        assert parse_line("a012\n") == Command("call-digits", "A012")
        assert parse_line("7\n") == Command("call-digits", "7")
        assert parse_line("transfer B\n") == Command("transfer", "B")
        assert parse_line("transfer counter:2\n") == Command("transfer", "counter:2")
        assert parse_line("transfer\n") == Command("transfer-menu")
        assert parse_line("\t\n") == Command("transfer-menu")
        assert parse_line("=\n") == Command("transfer-menu")
        assert parse_line("call VA002\n") == Command("call", "VA002")
        assert parse_line("next\n") == Command("call-next")
        assert parse_line("pause\n") == Command("pause")
        assert parse_line("quit\n") == Command("quit")
        assert parse_line("keypad\n") == Command("echo", "? unknown key or word 'keypad'")
        assert parse_line("hello\n") == Command("echo", "? unknown key or word 'hello'")


def test_typed_digits_resolve_to_the_one_waiting_ticket() -> None:
    waiting = [{"number": "A012"}, {"number": "B013"}, {"number": "VA013"}]
    assert resolve_number("12", waiting) == "A012"
    assert resolve_number("012", waiting) == "A012"
    assert resolve_number("13", waiting) == "13"  # two end in 13: the server decides
    assert resolve_number("B013", waiting) == "B013"


def test_live_line() -> None:
    summary = {
        "counter": {"number": "3", "state": "open"},
        "current": {"number": "A012", "status": "serving"},
        "waiting": [{}, {}],
        "today": {"counter": {"served": 7}},
    }
    assert live_line(summary) == "[counter 3 open] A012 serving · waiting 2 · served today 7"
