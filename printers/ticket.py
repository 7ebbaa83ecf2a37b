"""The ticket as the printer sees it: a plain value, built by the server from its own models.

`printers/` never imports the server, so everything a ticket needs on paper is copied into
this value (names already resolved, times already in branch-local time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True, slots=True)
class TicketPrint:
    """Everything printed on one queue ticket, in both languages."""

    branch_name_zh: str
    branch_name_en: str
    number: str  # "A012", "VA012"
    service_name_zh: str
    service_name_en: str
    people_ahead: int
    estimated_wait_s: int | None  # None: no estimate yet (e.g. first ticket of the day)
    issued_at: datetime  # aware, branch-local: printed as is, never converted here
    track_url: str  # QR content: the mobile ticket page
    priority_name_zh: str | None = None  # None for a normal ticket
    priority_name_en: str | None = None
    footer_zh: str = ""
    footer_en: str = ""
    # The promise as a range (low, high seconds); printed instead of the point when given.
    estimated_wait_range_s: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        # A naive time would print whatever clock the caller happened to use; refuse it early.
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be timezone-aware (branch-local time)")
        if self.people_ahead < 0:
            raise ValueError("people_ahead must be >= 0")
        if self.estimated_wait_s is not None and self.estimated_wait_s < 0:
            raise ValueError("estimated_wait_s must be >= 0 or None")
        if self.estimated_wait_range_s is not None and not (
            0 <= self.estimated_wait_range_s[0] <= self.estimated_wait_range_s[1]
        ):
            raise ValueError("estimated_wait_range_s must be (low, high) with 0 <= low <= high")
        if not self.number:
            raise ValueError("number must not be empty")


def sample_ticket(issued_at: datetime | None = None) -> TicketPrint:
    """A realistic ticket for `lobbyq print-test`, previews of the layout, benches and demos."""
    when = issued_at or datetime(2025, 3, 4, 9, 15, tzinfo=timezone(timedelta(hours=8)))
    return TicketPrint(
        branch_name_zh="深圳福田支行",
        branch_name_en="Futian Branch",
        number="VA012",
        service_name_zh="个人现金业务",
        service_name_en="Personal cash",
        priority_name_zh="贵宾",
        priority_name_en="VIP",
        people_ahead=3,
        estimated_wait_s=12 * 60,
        estimated_wait_range_s=(9 * 60, 16 * 60),
        issued_at=when,
        track_url="https://lobbyq.example/t/3kq9w2xv7c",
        footer_zh="请留意叫号，过号请重新取号",
        footer_en="Please listen for your number",
    )
