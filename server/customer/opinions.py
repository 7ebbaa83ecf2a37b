"""The opinion book (客户意见簿): anyone leaves an opinion, the manager answers it.

Statuses: new -> in_progress -> replied -> closed (a manager may set any of them; a
reply sets `replied`). An opinion is overdue when it has no reply after
`[branches.opinions] reply_business_days` business days (days the branch opens, from
its hours, holidays and 调休 days; without hours, Monday to Friday).

Who read an opinion's detail (with the contact unmasked), replied or moved it is kept
in `OpinionAudit`.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.customer.answers import (
    OpinionAction,
    OpinionAlert,
    OpinionDetail,
    OpinionMonth,
    OpinionPublic,
    OpinionRow,
)
from server.customer.privacy import mask_contact, public_text
from server.customer.tables import Opinion, OpinionAudit, OpinionStatus
from server.errors import Conflict, InvalidInput, NotFound
from server.models import Ticket, as_utc, utc
from server.public import Names

CATEGORIES = ("attitude", "waiting", "environment", "process", "other")
CATEGORY_NAMES = {
    "attitude": {"zh": "服务态度", "en": "Attitude"},
    "waiting": {"zh": "等候时间", "en": "Waiting"},
    "environment": {"zh": "网点环境", "en": "Environment"},
    "process": {"zh": "业务流程", "en": "Process"},
    "other": {"zh": "其他", "en": "Other"},
}
STATUS_NAMES = {
    "new": {"zh": "待处理", "en": "New"},
    "in_progress": {"zh": "处理中", "en": "In progress"},
    "replied": {"zh": "已答复", "en": "Replied"},
    "closed": {"zh": "已关闭", "en": "Closed"},
}
MAX_TEXT = 500
MAX_CONTACT = 100
MAX_REPLY = 1000
LOW_RATING = 2  # a rating of this or less with a reason opens an opinion
SOURCES = ("kiosk", "mobile", "book", "rating", "web")


def _new_code(session: Session, branch: str, now: datetime) -> str:
    """YJ + yymmdd + 4 digits: readable over the phone, unique per branch."""
    stamp = now.strftime("%y%m%d")
    for _ in range(50):
        code = f"YJ{stamp}{secrets.randbelow(10_000):04d}"
        taken = session.exec(
            select(Opinion.id).where(Opinion.branch == branch, Opinion.code == code)
        ).first()
        if taken is None:
            return code
    raise Conflict("could not find a free opinion code", code="no_free_code")


def open_opinion(
    *,
    session: Session,
    branch: BranchSettings,
    category: str,
    text: str,
    contact: str = "",
    source: str = "web",
    ticket: Ticket | None = None,
    rating: int | None = None,
    counter: str = "",
    now: datetime,
) -> Opinion:
    if category not in CATEGORIES:
        raise InvalidInput(f"category: one of {', '.join(CATEGORIES)}", code="invalid_category")
    text = public_text(text, "text", max_len=MAX_TEXT)
    contact = public_text(contact, "contact", max_len=MAX_CONTACT, required=False)
    opinion = Opinion(
        branch=branch.code,
        code=_new_code(session, branch.code, now.astimezone(branch.zone)),
        follow_token=secrets.token_urlsafe(24),
        category=category,
        text=text,
        contact=contact,
        source=source if source in SOURCES else "web",
        ticket_id=ticket.id if ticket is not None else None,
        ticket_number=ticket.number if ticket is not None else "",
        counter=counter or (ticket.counter or "" if ticket is not None else ""),
        rating=rating,
        created_at=as_utc(now),
    )
    session.add(opinion)
    session.flush()
    return opinion


# Reason codes of the rating pad (issue 14) to the opinion book's categories: a code
# that names one of them, or a word of it, goes there; anything else is "other".
_REASON_WORDS = {
    "attitude": ("attitude", "rude", "polite", "manner", "态度"),
    "waiting": ("wait", "slow", "queue", "等"),
    "environment": ("environment", "clean", "noise", "seat", "环境"),
    "process": ("process", "procedure", "efficien", "skill", "explain", "流程", "业务"),
}


def category_of_reasons(reasons: list[str]) -> str:
    for reason in reasons:
        lowered = reason.lower()
        for category, words in _REASON_WORDS.items():
            if any(w in lowered for w in words):
                return category
    return "other"


def open_opinion_from_rating(
    *,
    session: Session,
    branch: BranchSettings,
    ticket: Ticket,
    rating: int,
    reasons: list[str],
    reason_text: dict[str, str] | None = None,
    counter: str = "",
    now: datetime,
) -> Opinion | None:
    """The rating pad calls this after recording a rating: a low rating (<= 2) given
    with at least one reason opens an opinion in the manager's inbox (source
    `rating`, linked to the ticket and counter); anything else opens none (None).
    `reason_text` maps a reason code to the words the customer tapped, if known."""
    if rating > LOW_RATING or not reasons:
        return None
    shown = [(reason_text or {}).get(r, r) for r in reasons]
    text = f"评分 {rating}/5：" + "、".join(shown)
    return open_opinion(
        session=session,
        branch=branch,
        category=category_of_reasons(reasons),
        text=text[:MAX_TEXT],
        source="rating",
        ticket=ticket,
        rating=rating,
        counter=counter,
        now=now,
    )


def by_token(session: Session, token: str) -> Opinion:
    opinion = (
        session.exec(select(Opinion).where(col(Opinion.follow_token) == token)).first()
        if 10 <= len(token) <= 64
        else None
    )
    if opinion is None:
        raise NotFound("未找到该意见。No such opinion.", code="opinion_not_found")
    return opinion


def get(session: Session, branch: BranchSettings, opinion_id: int) -> Opinion:
    opinion = session.get(Opinion, opinion_id) if 0 < opinion_id < 2**31 else None
    if opinion is None or opinion.branch != branch.code:
        raise NotFound("no such opinion", code="opinion_not_found")
    return opinion


def _audit(
    session: Session, opinion: Opinion, action: str, username: str, now: datetime, detail: str = ""
) -> None:
    assert opinion.id is not None
    session.add(
        OpinionAudit(
            opinion_id=opinion.id,
            branch=opinion.branch,
            action=action,
            username=username[:32],
            at=as_utc(now),
            detail=detail[:32],
        )
    )


def read_detail(*, session: Session, opinion: Opinion, username: str, now: datetime) -> None:
    """The manager opened the detail (contact unmasked): recorded."""
    _audit(session, opinion, "read", username, now)


def reply(
    *, session: Session, opinion: Opinion, text: str, username: str, now: datetime
) -> Opinion:
    opinion.reply = public_text(text, "text", max_len=MAX_REPLY)
    opinion.replied_at = as_utc(now)
    opinion.replied_by = username[:32]
    opinion.status = OpinionStatus.replied
    session.add(opinion)
    _audit(session, opinion, "reply", username, now)
    return opinion


def set_status(
    *, session: Session, opinion: Opinion, status: str, username: str, now: datetime
) -> Opinion:
    if status not in ("new", "in_progress", "closed"):
        raise InvalidInput(
            "status: new, in_progress or closed (a reply sets replied)", code="invalid_status"
        )
    opinion.status = OpinionStatus(status)
    session.add(opinion)
    _audit(session, opinion, "status", username, now, status)
    return opinion


def history(session: Session, branch: BranchSettings, opinion: Opinion) -> list[OpinionAction]:
    rows = session.exec(
        select(OpinionAudit)
        .where(OpinionAudit.opinion_id == opinion.id)
        .order_by(col(OpinionAudit.at), col(OpinionAudit.id))
    ).all()
    return [
        OpinionAction(action=r.action, username=r.username, at=_iso(r.at, branch), detail=r.detail)
        for r in rows
    ]


# -- deadlines ------------------------------------------------------------------------------


def is_business_day(branch: BranchSettings, day: date) -> bool:
    if branch.hours is not None:
        return branch.hours.span_for(day) is not None
    return day.weekday() < 5


def reply_due(branch: BranchSettings, created: datetime) -> datetime:
    """End of the N-th business day after the day it came in (local midnight)."""
    day = created.astimezone(branch.zone).date()
    left = branch.opinions.reply_business_days
    for _ in range(400):
        day += timedelta(days=1)
        if is_business_day(branch, day):
            left -= 1
            if left == 0:
                break
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=branch.zone)


def is_overdue(branch: BranchSettings, opinion: Opinion, now: datetime) -> bool:
    if opinion.status in (OpinionStatus.replied, OpinionStatus.closed):
        return False
    created = utc(opinion.created_at)
    assert created is not None
    return now >= reply_due(branch, created)


def overdue_alerts(
    *, session: Session, branch: BranchSettings, now: datetime
) -> list[OpinionAlert]:
    """One alert per unanswered opinion past its deadline, in zh and en."""
    rows = session.exec(
        select(Opinion)
        .where(
            Opinion.branch == branch.code,
            col(Opinion.status).in_([OpinionStatus.new, OpinionStatus.in_progress]),
        )
        .order_by(col(Opinion.created_at))
    ).all()
    days = branch.opinions.reply_business_days
    out = []
    for opinion in rows:
        if not is_overdue(branch, opinion, now):
            continue
        out.append(
            OpinionAlert(
                id=opinion.id,
                code=opinion.code,
                category=opinion.category,
                created_at=_iso(opinion.created_at),
                text=Names(
                    zh=f"意见 {opinion.code}（{CATEGORY_NAMES[opinion.category]['zh']}）"
                    f"超过{days}个工作日未答复",
                    en=f"Opinion {opinion.code} ({CATEGORY_NAMES[opinion.category]['en']}) "
                    f"has had no reply for over {days} business days",
                ),
            )
        )
    return out


# -- views ----------------------------------------------------------------------------------


def _iso(value: datetime | None, branch: BranchSettings | None = None) -> str | None:
    at = utc(value)
    if at is None:
        return None
    return at.astimezone(branch.zone).isoformat() if branch else at.isoformat()


def public_data(branch: BranchSettings, opinion: Opinion, base: str) -> OpinionPublic:
    """What the customer sees on /opinion/{token}: the contact masked."""
    return OpinionPublic(
        code=opinion.code,
        branch=branch.code,
        branch_name=Names.of(branch.name),
        category=opinion.category,
        category_name=Names(**CATEGORY_NAMES[opinion.category]),
        text=opinion.text,
        contact=mask_contact(opinion.contact),
        status=str(opinion.status),
        status_name=Names(**STATUS_NAMES[str(opinion.status)]),
        created_at=_iso(opinion.created_at, branch),
        reply=opinion.reply or None,
        replied_at=_iso(opinion.replied_at, branch),
        follow_url=f"{base}/opinion/{opinion.follow_token}",
    )


def inbox_fields(
    branch: BranchSettings, opinion: Opinion, now: datetime, *, full_contact: bool = False
) -> dict[str, Any]:
    """The manager's row (OpinionRow's fields): masked contact in the list, whole in
    the detail."""
    created = utc(opinion.created_at)
    assert created is not None
    return {
        "id": opinion.id,
        "code": opinion.code,
        "category": opinion.category,
        "category_name": Names(**CATEGORY_NAMES[opinion.category]),
        "text": opinion.text,
        "contact": opinion.contact if full_contact else mask_contact(opinion.contact),
        "source": opinion.source,
        "ticket": opinion.ticket_number or None,
        "counter": opinion.counter or None,
        "rating": opinion.rating,
        "status": str(opinion.status),
        "created_at": _iso(opinion.created_at, branch),
        "reply_due": reply_due(branch, created).isoformat(),
        "overdue": is_overdue(branch, opinion, now),
        "reply": opinion.reply or None,
        "replied_at": _iso(opinion.replied_at, branch),
        "replied_by": opinion.replied_by or None,
    }


def inbox_data(branch: BranchSettings, opinion: Opinion, now: datetime) -> OpinionRow:
    return OpinionRow(**inbox_fields(branch, opinion, now))


def detail_data(
    session: Session, branch: BranchSettings, opinion: Opinion, now: datetime
) -> OpinionDetail:
    """The one view with the contact whole, and who did what to the opinion."""
    return OpinionDetail(
        **inbox_fields(branch, opinion, now, full_contact=True),
        history=history(session, branch, opinion),
    )


def inbox(
    *, session: Session, branch: BranchSettings, status: str | None, now: datetime, limit: int = 500
) -> list[OpinionRow]:
    query = select(Opinion).where(Opinion.branch == branch.code)
    if status:
        if status not in STATUS_NAMES:
            raise InvalidInput("status: new, in_progress, replied or closed", code="invalid_status")
        query = query.where(Opinion.status == OpinionStatus(status))
    rows = session.exec(query.order_by(col(Opinion.created_at).desc()).limit(limit)).all()
    return [inbox_data(branch, o, now) for o in rows]


def month_bounds(branch: BranchSettings, month: str) -> tuple[datetime, datetime]:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise InvalidInput("month: YYYY-MM", code="invalid_month") from exc
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    zone = branch.zone
    return (
        datetime.combine(first, datetime.min.time(), tzinfo=zone),
        datetime.combine(following, datetime.min.time(), tzinfo=zone),
    )


def monthly_counts(
    *, session: Session, branch: BranchSettings, months: list[str]
) -> list[OpinionMonth]:
    """Per month: opinions by category, and how many are still unanswered."""
    out = []
    for month in months:
        start, end = month_bounds(branch, month)
        rows = session.exec(
            select(Opinion.category, Opinion.status).where(
                Opinion.branch == branch.code,
                col(Opinion.created_at) >= as_utc(start),
                col(Opinion.created_at) < as_utc(end),
            )
        ).all()
        by_category = Counter(category for category, _ in rows)
        out.append(
            OpinionMonth(
                month=month,
                total=len(rows),
                by_category={c: by_category.get(c, 0) for c in CATEGORIES},
                unanswered=sum(
                    1 for _, s in rows if s in (OpinionStatus.new, OpinionStatus.in_progress)
                ),
            )
        )
    return out


def last_months(branch: BranchSettings, now: datetime, count: int = 12) -> list[str]:
    local = now.astimezone(branch.zone)
    year, month = local.year, local.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def counts_csv(rows: list[OpinionMonth]) -> str:
    """Month x category, with the Chinese and English category names in the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["month/月份"]
        + [f"{CATEGORY_NAMES[c]['zh']} {c}" for c in CATEGORIES]
        + ["合计 total", "未答复 unanswered"]
    )
    for row in rows:
        writer.writerow(
            [row.month]
            + [row.by_category[c] for c in CATEGORIES]
            + [row.total, row.unanswered]
        )
    return buffer.getvalue()


def purge(*, session: Session, branch: BranchSettings, now: datetime) -> int:
    """Opinions older than the retention, with who read them: deleted."""
    cutoff = as_utc(now - timedelta(days=branch.opinions.retention_days))
    ids = list(
        session.exec(
            select(Opinion.id).where(
                Opinion.branch == branch.code, col(Opinion.created_at) < cutoff
            )
        ).all()
    )
    if ids:
        session.execute(delete(OpinionAudit).where(col(OpinionAudit.opinion_id).in_(ids)))
        session.execute(delete(Opinion).where(col(Opinion.id).in_(ids)))
    return len(ids)


def status_counts(*, session: Session, branch: BranchSettings) -> dict[str, int]:
    rows = session.exec(select(Opinion.status).where(Opinion.branch == branch.code)).all()
    counted = Counter(str(s) for s in rows)
    return {s: counted.get(s, 0) for s in STATUS_NAMES}
