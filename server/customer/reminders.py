"""Booking reminders through the branch webhook (the SMS gateway's notification point),
and the daily retention job.

`[branches.booking] reminder_min` before a booked slot, one JSON POST to the branch's
`webhook_url`: `{event: "booking.reminder", ..., phone, text: {zh, en}}`. The phone is
whole in the payload (the gateway must text it) and masked in every log line. Once:
the booking is claimed with one conditional UPDATE (`reminded_at IS NULL`), so a
restart or a second process never sends it again. A POST that fails is logged, not
retried (a gateway answering 500 may still have sent the SMS), as the ticket webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import update
from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.customer import booking as booking_rules
from server.customer import opinions as opinion_rules
from server.customer.privacy import mask_phone
from server.customer.tables import Booking, BookingStatus
from server.customer.webhook import Post, http_post
from server.models import Appointment, as_utc, utc
from server.store import Store

log = logging.getLogger(__name__)
TICK_S = 30.0  # reminders are checked this often
DAY_S = 24 * 3600.0


def due_reminders(*, session: Session, branch: BranchSettings, now: datetime) -> list[Booking]:
    """Booked, not checked in, not yet reminded, starting within reminder_min."""
    if branch.booking is None or branch.booking.reminder_min <= 0:
        return []
    until = now + timedelta(minutes=branch.booking.reminder_min)
    return list(
        session.exec(
            select(Booking)
            .join(Appointment, col(Appointment.id) == col(Booking.appointment_id))
            .where(
                Booking.branch == branch.code,
                col(Booking.day) >= (now - timedelta(days=1)).astimezone(branch.zone).date(),
                col(Booking.day) <= until.astimezone(branch.zone).date(),
                Booking.status == BookingStatus.booked,
                Appointment.status == "booked",
                col(Booking.reminded_at).is_(None),
                col(Booking.at) > as_utc(now),
                col(Booking.at) <= as_utc(until),
            )
        ).all()
    )


def claim_reminder(*, session: Session, booking_id: int, now: datetime) -> bool:
    result = session.execute(
        update(Booking)
        .where(col(Booking.id) == booking_id, col(Booking.reminded_at).is_(None))
        .values(reminded_at=as_utc(now))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def reminder_payload(store: Store, branch: BranchSettings, booking: Booking) -> dict[str, Any]:
    service = branch.service(booking.service)
    at = utc(booking.at)
    assert at is not None
    local = at.astimezone(branch.zone)
    base = store.config.server.base_url.rstrip("/")
    when = local.strftime("%H:%M")
    service_zh = service.name.zh if service else booking.service
    service_en = service.name.en if service else booking.service
    return {
        "event": "booking.reminder",
        "branch": branch.code,
        "branch_name": branch.name.model_dump(),
        "code": booking.code,
        "service": booking.service,
        "service_name": service.name.model_dump() if service else None,
        "at": local.isoformat(),
        "name": booking.name,
        "phone": booking.phone,
        "lang": booking.lang,
        "manage_url": f"{base}/booking/{booking.manage_token}" if base else None,
        "text": {
            "zh": f"您预约了{branch.name.zh}今天{when}的{service_zh}，预约码{booking.code}。"
            "请到网点后在取号机签到。",
            "en": f"Your {service_en} visit at {branch.name.en} is today at {when}, "
            f"booking code {booking.code}. Check in at the kiosk when you arrive.",
        },
    }


def send_due_reminders(store: Store, now: datetime, post: Post = http_post) -> int:
    """Claim and send every reminder due at `now`; returns how many were sent."""
    sent = 0
    for branch in store.config.branches:
        if branch.booking is None or not branch.webhook_url:
            continue
        with store.read() as session:
            due = due_reminders(session=session, branch=branch, now=now)
        for booking in due:
            assert booking.id is not None
            with store.db.write() as session:
                if not claim_reminder(session=session, booking_id=booking.id, now=now):
                    continue
            try:
                post(branch.webhook_url, reminder_payload(store, branch, booking))
                sent += 1
            except Exception as exc:
                log.warning(
                    "booking reminder %s to %s failed: %s",
                    booking.code,
                    mask_phone(booking.phone),
                    exc,
                )
    return sent


def run_retention(store: Store, now: datetime) -> dict[str, dict[str, int]]:
    """The daily job: bookings and opinions past their retention, deleted."""
    out = {}
    for branch in store.config.branches:
        with store.db.write() as session:
            bookings = booking_rules.purge(session=session, branch=branch, now=now)
            opinions = opinion_rules.purge(session=session, branch=branch, now=now)
        out[branch.code] = {"bookings": bookings, "opinions": opinions}
        if bookings or opinions:
            log.info(
                "retention %s: %d bookings, %d opinions deleted", branch.code, bookings, opinions
            )
    return out


class Jobs:
    """One asyncio task per server: reminders every TICK_S, retention once a day."""

    def __init__(self, store: Store, post: Post = http_post) -> None:
        self.store = store
        self.post = post
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="lobbyq-customer-jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        last_retention = -DAY_S
        loop = asyncio.get_running_loop()
        while True:
            try:
                now = self.store.now()
                await anyio.to_thread.run_sync(send_due_reminders, self.store, now, self.post)
                if loop.time() - last_retention >= DAY_S:
                    last_retention = loop.time()
                    await anyio.to_thread.run_sync(run_retention, self.store, now)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("customer jobs")
            await asyncio.sleep(TICK_S)
