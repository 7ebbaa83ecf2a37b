from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from printer_fakes import make_ticket, names, tickets

from printers.layout import (
    Align,
    Cut,
    Line,
    Qr,
    Text,
    clean_text,
    format_wait,
    layout_ticket,
    text_columns,
    wrap,
)
from printers.ticket import TicketPrint


def texts(lines: Sequence[Line]) -> list[str]:
    return [line.text for line in lines if isinstance(line, Text)]


class TestLayoutTicket:
    def test_big_number_service_and_qr(self) -> None:
        ticket = make_ticket()
        lines = layout_ticket(ticket)

        big = [line for line in lines if isinstance(line, Text) and line.text == "VA012"]
        assert big == [Text("VA012", size=4, align=Align.CENTER, bold=True)]
        assert "个人现金业务" in texts(lines)
        assert "Personal cash" in texts(lines)
        assert [line for line in lines if isinstance(line, Qr)] == [Qr(ticket.track_url)]
        assert lines[-1] == Cut()

    def test_every_label_is_bilingual(self) -> None:
        labels = texts(
            layout_ticket(
                make_ticket(people_ahead=3, estimated_wait_s=700, estimated_wait_range_s=None)
            )
        )
        assert "前面等候 / People ahead: 3" in labels
        assert "预计等候 / Est. wait: 约 12 分钟 / ~12 min" in labels
        assert "取号时间 / Issued: 2025-03-04 09:15" in labels
        assert "贵宾 / VIP" in labels
        assert "您的号码 / Your number" in labels

    @pytest.mark.parametrize(
        ("low", "high", "shown"),
        [
            (310, 530, "约 5–9 分钟 / about 5–9 min"),
            (0, 190, "4 分钟以内 / up to 4 min"),
            (0, 40, "不到 1 分钟 / < 1 min"),
            (600, 600, "约 10 分钟 / about 10 min"),
        ],
    )
    def test_a_range_is_printed_instead_of_the_point(self, low: int, high: int, shown: str) -> None:
        ticket = make_ticket(estimated_wait_s=420, estimated_wait_range_s=(low, high))
        labels = texts(layout_ticket(ticket))
        assert f"预计等候 / Est. wait: {shown}" in labels

    def test_a_range_must_be_ordered(self) -> None:
        with pytest.raises(ValueError, match="estimated_wait_range_s"):
            make_ticket(estimated_wait_range_s=(600, 300))

    def test_normal_ticket_has_no_priority_line_and_no_empty_footer(self) -> None:
        lines = texts(
            layout_ticket(
                make_ticket(
                    priority_name_zh=None, priority_name_en=None, footer_zh="", footer_en=""
                )
            )
        )
        assert not any("VIP" in line for line in lines)
        assert "" not in lines

    @settings(max_examples=50, deadline=None)
    @given(tickets)
    def test_layout_is_pure(self, ticket: TicketPrint) -> None:
        first = layout_ticket(ticket)
        assert first == layout_ticket(ticket)
        assert ticket.number in texts(first)
        assert [line.data for line in first if isinstance(line, Qr)] == [ticket.track_url]
        assert first[-1] == Cut()

    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            make_ticket(issued_at=datetime(2025, 3, 4, 9, 15))


class TestFormatWait:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (None, "暂无 / n/a"),
            (0, "不到 1 分钟 / < 1 min"),
            (59, "不到 1 分钟 / < 1 min"),
            (60, "约 1 分钟 / ~1 min"),
            (61, "约 2 分钟 / ~2 min"),  # rounded up: never promise less than the estimate
            (720, "约 12 分钟 / ~12 min"),
        ],
    )
    def test_format(self, seconds: int | None, text: str) -> None:
        assert format_wait(seconds) == text


class TestWrap:
    def test_breaks_latin_at_spaces_and_cjk_anywhere(self) -> None:
        assert wrap("Scan to track your turn", 10) == ["Scan to", "track your", "turn"]
        assert wrap("扫码查看排队进度", 6) == ["扫码查", "看排队", "进度"]

    def test_cuts_a_word_longer_than_the_line(self) -> None:
        assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]

    def test_control_characters_never_reach_the_printer(self) -> None:
        assert clean_text("Fu\x1b@tian\x1d!\x33\nBranch") == "Fu@tian!3 Branch"

    @settings(max_examples=200, deadline=None)
    @given(names, st.integers(2, 48))
    def test_lines_fit_and_keep_every_character(self, text: str, columns: int) -> None:
        lines = wrap(text, columns)
        assert all(text_columns(line) <= columns for line in lines)
        assert "".join(lines).replace(" ", "") == clean_text(text).replace(" ", "")
