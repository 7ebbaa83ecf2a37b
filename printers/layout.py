"""Ticket layout: a pure function from a ticket to a list of typed layout elements.

Both the ESC/POS renderer and the PNG preview draw from this one list, so what a manager sees
on screen is what the customer gets on paper. Text is measured in printer *columns*: a Font A
cell (12 x 24 dots) is one column, and every non-ASCII character takes two, which is how a
printer in GB18030 mode prints it and how the monospaced CJK font draws it in raster mode.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from printers.ticket import TicketPrint

__all__ = [
    "Align",
    "Cut",
    "Feed",
    "Line",
    "Qr",
    "Rule",
    "Text",
    "clean_text",
    "format_wait",
    "layout_ticket",
    "text_columns",
    "wrap",
]


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class Text:
    """One logical line of text; renderers wrap it to the paper width."""

    text: str
    size: int = 1  # character magnification, 1..8 (ESC/POS GS !), same in width and height
    align: Align = Align.LEFT
    bold: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 8:
            raise ValueError(f"text size must be 1..8, got {self.size}")


@dataclass(frozen=True, slots=True)
class Qr:
    data: str
    module_dots: int = 6  # about 24 mm for a short URL at 180-203 dpi: easy to scan
    align: Align = Align.CENTER


@dataclass(frozen=True, slots=True)
class Rule:
    """A full-width separator line."""


@dataclass(frozen=True, slots=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True, slots=True)
class Cut:
    """End of ticket: feed past the cutter and cut."""


Line = Text | Qr | Rule | Feed | Cut


def layout_ticket(ticket: TicketPrint) -> list[Line]:
    """The ticket, top to bottom. Pure: the same ticket always gives the same list."""
    lines: list[Line] = [
        Text(ticket.branch_name_zh, size=2, align=Align.CENTER, bold=True),
        Text(ticket.branch_name_en, align=Align.CENTER),
        Rule(),
        Text("您的号码 / Your number", align=Align.CENTER),
        Text(ticket.number, size=4, align=Align.CENTER, bold=True),
    ]
    if ticket.priority_name_zh or ticket.priority_name_en:
        priority = " / ".join(n for n in (ticket.priority_name_zh, ticket.priority_name_en) if n)
        lines.append(Text(priority, size=2, align=Align.CENTER, bold=True))
    lines += [
        Text(ticket.service_name_zh, size=2, align=Align.CENTER, bold=True),
        Text(ticket.service_name_en, align=Align.CENTER),
        Rule(),
        Text(f"前面等候 / People ahead: {ticket.people_ahead}"),
        Text(f"预计等候 / Est. wait: {_promised(ticket)}"),
        Text(f"取号时间 / Issued: {ticket.issued_at:%Y-%m-%d %H:%M}"),
        Feed(1),
        Qr(ticket.track_url),
        Text("扫码查看排队进度 / Scan to track your turn", align=Align.CENTER),
    ]
    if ticket.footer_zh or ticket.footer_en:
        lines.append(Rule())
    if ticket.footer_zh:
        lines.append(Text(ticket.footer_zh, align=Align.CENTER))
    if ticket.footer_en:
        lines.append(Text(ticket.footer_en, align=Align.CENTER))
    lines.append(Cut())
    return lines


def format_wait(estimated_wait_s: int | None) -> str:
    """Bilingual estimated wait; rounded up so the ticket never promises less than the estimate."""
    if estimated_wait_s is None:
        return "暂无 / n/a"
    if estimated_wait_s < 60:
        return "不到 1 分钟 / < 1 min"
    minutes = math.ceil(estimated_wait_s / 60)
    return f"约 {minutes} 分钟 / ~{minutes} min"


def format_wait_range(low_s: int, high_s: int) -> str:
    """Bilingual range, whole minutes outward (the low end down, the high end up), as
    the kiosk and the mobile page show it (kiosk/static/ticket.js waitRangeText)."""
    if high_s < 60:
        return "不到 1 分钟 / < 1 min"
    low, high = low_s // 60, max(1, math.ceil(high_s / 60))
    if low == 0:
        return f"{high} 分钟以内 / up to {high} min"
    if low >= high:
        return f"约 {high} 分钟 / about {high} min"
    return f"约 {low}–{high} 分钟 / about {low}–{high} min"


def _promised(ticket: TicketPrint) -> str:
    if ticket.estimated_wait_range_s is not None:
        return format_wait_range(*ticket.estimated_wait_range_s)
    return format_wait(ticket.estimated_wait_s)


_SPACE = re.compile(r"\s+")
# Printable ASCII words, runs of spaces, or any single other (wide) character: CJK text may
# break between any two characters, Latin text only at spaces.
_TOKEN = re.compile(r"[\x21-\x7e]+| +|.", re.DOTALL)


def clean_text(text: str) -> str:
    """Collapse whitespace and drop control characters.

    A name containing ESC or GS would otherwise be sent to the printer as a command.
    """
    text = "".join(ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) != "Cc")
    return _SPACE.sub(" ", text).strip()


def text_columns(text: str) -> int:
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """Greedy word wrap of `text` to `columns`, at least one (possibly empty) line."""
    if columns < 2:
        raise ValueError("need at least 2 columns to fit a wide character")
    lines: list[str] = []
    current = ""
    for token in _TOKEN.findall(clean_text(text)):
        if token.isspace():
            # A space that does not fit simply becomes the line break.
            if current and text_columns(current + token) <= columns:
                current += token
            elif current:
                lines.append(current)
                current = ""
            continue
        if text_columns(current + token) <= columns:
            current += token
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = ""
        while text_columns(token) > columns:  # a word longer than the line: cut it hard
            head = _take_columns(token, columns)
            lines.append(head)
            token = token[len(head) :]
        current = token
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def _take_columns(text: str, columns: int) -> str:
    used = 0
    for i, ch in enumerate(text):
        used += text_columns(ch)
        if used > columns:
            return text[:i]
    return text
