"""A branch's webhook (for an SMS gateway): POSTed once when a ticket is N places from its call.

Committed events are handed to one background thread; it reads the queue and POSTs with a
short timeout, so neither a slow gateway nor the position query ever touches a request.
A ticket that already had N or fewer people ahead when it was issued is not sent: its
customer is standing at the kiosk.

Which tickets were sent is kept in the database (ticket.notified_at, migration 0003), not
in memory, so a restart or another process behind the Redis hub never sends a customer a
second message. Before sending, a process claims the ticket with one conditional UPDATE
(... SET notified_at = now WHERE id = ? AND notified_at IS NULL): of two processes that
see the same ticket due at once, exactly one gets the row and sends. A POST that fails is
logged and not sent again (as before: a gateway answering 500 may still have sent the SMS).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import Session, col

from server.config import BranchSettings
from server.events import Event, EventType
from server.models import Ticket, TicketStatus, as_utc
from server.queue.line import as_waiting, waiting_tickets
from server.queue.ordering import people_ahead
from server.queue.today import Today
from server.store import Store

log = logging.getLogger(__name__)

MOVING_EVENTS: set[str] = {
    EventType.ticket_called,
    EventType.ticket_cancelled,
    EventType.ticket_no_show,
    EventType.ticket_transferred,
    EventType.ticket_completed,
    EventType.ticket_issued,
}
TIMEOUT_S = 3.0

Post = Callable[[str, dict[str, Any]], None]


def http_post(url: str, payload: dict[str, Any]) -> None:
    response = httpx.post(url, json=payload, timeout=TIMEOUT_S)
    response.raise_for_status()


def approaching(waiting: list[Ticket], today: Today) -> list[tuple[Ticket, int]]:
    """Waiting tickets with N or fewer people ahead, each with its count."""
    rules, now = today.rules, today.now
    everyone = [as_waiting(t) for t in waiting]
    limit = today.branch.webhook_places_before
    out = []
    for ticket, view in zip(waiting, everyone, strict=True):
        if ticket.people_ahead_at_issue is not None and ticket.people_ahead_at_issue <= limit:
            continue
        ahead = people_ahead(view, everyone, rules, now)
        if ahead <= limit:
            out.append((ticket, ahead))
    return out


def claim_notification(*, session: Session, ticket_id: int, now: datetime) -> bool:
    """Mark a ticket as notified, if nobody did yet: True for the one caller that may send.

    A single conditional UPDATE, not read-then-write: on Postgres a second transaction
    waits on the row lock and then finds notified_at set; on SQLite writes are serial."""
    result = session.execute(
        update(Ticket)
        .where(
            col(Ticket.id) == ticket_id,
            col(Ticket.notified_at).is_(None),
            col(Ticket.status) == TicketStatus.waiting,  # not called meanwhile
        )
        .values(notified_at=as_utc(now))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


class Webhooks:
    """The server's `Notifier` port (server/ports.py): built once by create_app."""

    def __init__(self, store: Store, post: Post = http_post) -> None:
        self.store = store
        self.post = post
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        """A committed event: called inside the request, so it only queues."""
        if event.type not in MOVING_EVENTS:
            return
        branch = self.store.config.branch(event.branch)
        if branch is None or not branch.webhook_url:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="lobbyq-webhooks", daemon=True
                )
                self._thread.start()
        self._queue.put(event.branch)

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            branches = {item}
            while not self._queue.empty():  # a burst of events is one check per branch
                more = self._queue.get_nowait()
                if more is None:
                    return
                branches.add(more)
            for code in branches:
                try:
                    self._check(code)
                except Exception:
                    log.exception("webhook check for branch %s", code)

    def _check(self, code: str) -> None:
        branch = self.store.config.branch(code)
        if branch is None or not branch.webhook_url:
            return
        now = self.store.now()
        for ticket, ahead in self.claim(self.due(branch, now), now):
            payload = payload_for(self.store, branch, ticket, ahead)
            try:
                self.post(branch.webhook_url, payload)
            except Exception as exc:
                log.warning("webhook %s for %s failed: %s", branch.webhook_url, ticket.number, exc)

    def due(self, branch: BranchSettings, now: datetime) -> list[tuple[Ticket, int]]:
        """Approaching tickets not yet notified (by this process or any other)."""
        today = Today.of(branch, now)
        with self.store.read() as session:
            return [
                (ticket, ahead)
                for ticket, ahead in approaching(waiting_tickets(session, today), today)
                if ticket.id is not None and ticket.notified_at is None
            ]

    def claim(self, due: Sequence[tuple[Ticket, int]], now: datetime) -> list[tuple[Ticket, int]]:
        """The tickets of `due` this process won the right to notify."""
        if not due:
            return []
        with self.store.db.write() as session:
            return [
                (ticket, ahead)
                for ticket, ahead in due
                if ticket.id is not None
                and claim_notification(session=session, ticket_id=ticket.id, now=now)
            ]


def payload_for(store: Store, branch: BranchSettings, ticket: Ticket, ahead: int) -> dict[str, Any]:
    service = branch.service(ticket.service)
    base = store.config.server.base_url.rstrip("/")
    return {
        "event": "ticket.approaching",
        "branch": branch.code,
        "branch_name": branch.name.model_dump(),
        "number": ticket.number,
        "service": ticket.service,
        "service_name": service.name.model_dump() if service else None,
        "people_ahead": ahead,
        "places_before": branch.webhook_places_before,
        "customer_ref": ticket.customer_ref,
        "token": ticket.token,
        "track_url": f"{base}/t/{ticket.token}" if base else None,
        "text": {
            "zh": f"您的{ticket.number}号前面还有{ahead}位，请回到{branch.name.zh}等候叫号。",
            "en": f"Ticket {ticket.number}: {ahead} ahead of you at {branch.name.en}. "
            "Please come back to the lobby.",
        },
    }
